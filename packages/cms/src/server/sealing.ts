/**
 * The server's sealer: the library's durable feed consumer that appends every change event
 * to its tenant's Merkle log and signs checkpoints (README "Tamper evidence"), publishing
 * each new checkpoint to the witness file (`CHECKPOINT_LOG`) when one is configured and,
 * with NATS_URL, to the JetStream witness stream (delivery/nats-witness.ts).
 * Failures are logged; neither a failed append nor a failed batch stops the server.
 */
import { type AuditedDatabase, type Auditor, type NoteSigner, type Sealer, startSealer } from 'audited'
import type { NatsWitness } from '../delivery/nats-witness.js'
import { loggedError } from './log-lines.js'
import { openWitnessFile, type WitnessFile } from './witness-file.js'

interface Log {
  info(o: object, m: string): void
  warn(o: object, m: string): void
  error(o: object, m: string): void
}

export interface Sealing {
  /** Stops the sealer (after its batch in hand), then closes the witness file. */
  stop(): Promise<void>
}

export function startSealing(o: {
  db: AuditedDatabase
  auditor: Auditor
  signer: NoteSigner
  witnessFile: string | undefined
  /** NATS_URL: checkpoints are witnessed in JetStream too (closed by its owner). */
  natsWitness?: NatsWitness
  log: Log
}): Sealing {
  const witness: WitnessFile | undefined =
    o.witnessFile === undefined ? undefined : openWitnessFile(o.witnessFile)
  const nats = o.natsWitness
  const sealer: Sealer = startSealer({
    db: o.db,
    auditor: o.auditor,
    signer: o.signer,
    onCheckpoint: async (c) => {
      const failed = (what: string) => (err: unknown) =>
        o.log.warn({ err: loggedError(err), tenantId: c.tenantId, treeSize: c.treeSize }, what)
      await Promise.all([
        witness?.append(c).catch(failed('witness file append failed')),
        nats?.append(c).catch(failed('witnessing the checkpoint in NATS failed')),
      ])
    },
    onError: (err) => o.log.error({ err: loggedError(err) }, 'sealing the tenant logs failed'),
  })
  o.log.info(
    {
      verifierKey: o.signer.verifierKey,
      ...(o.witnessFile === undefined ? {} : { witnessFile: o.witnessFile }),
      witnessNats: nats !== undefined,
    },
    'sealing the tenant logs',
  )
  return {
    async stop() {
      await sealer.stop()
      await witness?.close()
    },
  }
}
