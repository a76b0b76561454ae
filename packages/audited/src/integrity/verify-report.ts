/** What `verifyLogs` takes and reports (verify.ts runs it). */
import type { Auditor } from '../audit/auditor.js'
import type { AuditedDatabase } from '../db/open-database.js'
import type { Verifier } from './note.js'

export type FindingKind =
  | 'modified'
  | 'deleted'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'bad_signature'
  | 'root_mismatch'
  | 'checkpoint_missing'
  | 'witness_mismatch'
  /** A leaf marked purged that no validly signed archive manifest covers. */
  | 'forged_purge'
  /** The log's bookkeeping row (`audited_logs`) does not parse, names another tenant, or
   * (nothing else found in the log) its right edge is not the rebuilt tree's. */
  | 'state_mismatch'

export interface Finding {
  readonly kind: FindingKind
  readonly tenantId: string | null
  readonly eventId?: string
  readonly leafIndex?: number
  readonly treeSize?: number
  readonly detail: string
}

export interface VerifyOptions {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
  /** The log's public key: every checkpoint must carry its valid signature. */
  readonly verifier: Verifier
  /** Only this tenant's log (`null`: events without a tenant); omitted: every log. */
  readonly tenantId?: string | null
  /** Checkpoint notes seen by witnesses (e.g. the lines of `CHECKPOINT_LOG`). */
  readonly witnessed?: readonly string[]
  /** Events checked so far and the total, after each page. */
  readonly onProgress?: (done: number, total: number) => void
  /** Read and hash the feed in worker threads on connections of their own, where the
   * database reads in this process (SQLite: `LeafSql.readThreads`, at most one per CPU).
   * Default: as the sealer's `worker` (true as built JavaScript, false under tsx). A
   * worker that fails hands the rest of the run to this thread; the report is the same. */
  readonly workers?: boolean
}

export interface VerifyReport {
  readonly clean: boolean
  readonly events: number
  /** Events whose leaf, as the database built it from the stored columns, differed from the
   * sealed one, and which were therefore read and hashed in full (0 for a clean log written
   * by this version; each modified event is one). */
  readonly rechecked: number
  readonly logs: { tenantId: string | null; leaves: number; checkpoints: number; unsealed: number }[]
  readonly findings: Finding[]
  /** Worker threads that read and hashed the feed to the end (0: this thread did). */
  readonly threads: number
}
