/**
 * The integrity bench's fresh databases: the engine's tables, the bench `items` table and a
 * sealer's signing key, dropped again by `close` (or by `PendingDrops` on Ctrl-C).
 */
import {
  type AuditedDatabase,
  type Auditor,
  type AuditorOptions,
  createAuditor,
  generateSigningKey,
  leafWorkerHasCore,
  migrate,
  type NoteSigner,
  openDatabase,
  signerFromKey,
} from '../packages/audited/src/index.js'
import { parseVerifierKey, type Verifier } from '../packages/audited/src/proofs.js'
import { POOL_SIZE } from './config.js'
import type { DialectTarget, PendingDrops } from './databases.js'
import { createItemsTable } from './workload.js'

export interface IntegrityDb {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
  readonly signer: NoteSigner
  readonly verifier: Verifier
  /** What the built package's sealer picks here unless told (`worker`): the bench runs the
   * TypeScript sources, whose own default is no worker (WORKER_BY_DEFAULT). */
  readonly sealerWorker: boolean
  close(): Promise<void>
}

/** One fresh database; `prepare` creates any further tables before the auditor is made. */
export async function openIntegrityDb(
  target: DialectTarget,
  drops: PendingDrops,
  options: Omit<AuditorOptions, 'db'> = {},
  prepare?: (db: AuditedDatabase) => Promise<void>,
): Promise<IntegrityDb> {
  const created = await target.create()
  drops.track(created)
  let db: AuditedDatabase | undefined
  try {
    db = await openDatabase(created.url, {
      pool: { max: POOL_SIZE, acquireTimeoutMs: 60_000, statementTimeoutMs: 60_000 },
    })
    await migrate(db)
    await createItemsTable(db)
    await prepare?.(db)
    const auditor = createAuditor({ db, timeoutMs: 120_000, ...options })
    const signer = signerFromKey(generateSigningKey('audited.bench'))
    const opened = db
    return {
      db,
      auditor,
      signer,
      verifier: parseVerifierKey(signer.verifierKey),
      sealerWorker: leafWorkerHasCore(created.url),
      async close() {
        await opened.close()
        await drops.drop(created)
      },
    }
  } catch (e) {
    await db?.close()
    await drops.drop(created)
    throw e
  }
}
