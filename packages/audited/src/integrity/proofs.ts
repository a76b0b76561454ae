import { AuditedError } from '../core/errors.js'
import type { AuditedDatabase } from '../db/open-database.js'
import { LogStore, logKeyOf, type StoredCheckpoint } from './log-store.js'
import { consistencyPath, inclusionPath, toHex } from './merkle.js'
import { nodeHasher } from './node-crypto.js'

export interface EventProof {
  readonly eventId: string
  readonly tenantId: string | null
  readonly leafIndex: number
  /** Hex SHA-256(0x00 ‖ leaf bytes). */
  readonly leafHash: string
  readonly treeSize: number
  /** The inclusion path, leaf to root, hex. */
  readonly path: string[]
  /** The checkpoint the path leads to. */
  readonly checkpoint: StoredCheckpoint
}

const notSealed = (what: string) =>
  new AuditedError('not_found', what, { details: { reason: 'not_sealed' }, retryAfterSeconds: 2 })

function size(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^(0|[1-9]\d{0,15})$/.test(value) ? Number(value) : value
  if (!Number.isSafeInteger(n) || (n as number) < 0)
    throw new AuditedError('validation', `${field} must be a tree size (a whole number ≥ 0).`, {
      details: { field },
    })
  return n as number
}

/** Proofs of one database's tenant logs, always scoped to one tenant. */
export class LogProofs {
  readonly #store: LogStore

  constructor(db: AuditedDatabase) {
    this.#store = new LogStore(db.readKysely, db.capabilities)
  }

  /** The inclusion proof of an event of `tenantId` against the newest checkpoint that
   * covers it. `not_found` for an event of another tenant, or one not sealed yet (reason
   * `not_sealed`). */
  async event(eventId: string, tenantId: string | null): Promise<EventProof> {
    const logKey = logKeyOf(tenantId)
    const leaf = await this.#store.leafOfEvent(eventId)
    if (leaf === undefined || leaf.logKey !== logKey)
      throw notSealed('No sealed event with this id in this tenant (yet): sealing takes about a second.')
    const checkpoint = await this.#store.latestCheckpoint(logKey)
    if (checkpoint === undefined || checkpoint.treeSize <= leaf.leafIndex)
      throw notSealed('The event is sealed but no checkpoint covers it yet: try again in a second.')
    const path = await inclusionPath(
      leaf.leafIndex,
      checkpoint.treeSize,
      this.#store.perfect(logKey, nodeHasher),
      nodeHasher,
    )
    return {
      eventId,
      tenantId,
      leafIndex: leaf.leafIndex,
      leafHash: leaf.leafHash,
      treeSize: checkpoint.treeSize,
      path: path.map(toHex),
      checkpoint,
    }
  }

  /** Checkpoints of the tenant's log with a tree size above `after`, oldest first. */
  async checkpoints(tenantId: string | null, after: unknown = 0, limit = 100): Promise<StoredCheckpoint[]> {
    return this.#store.checkpoints(logKeyOf(tenantId), size(after, 'after'), limit)
  }

  /** The newest checkpoint of the tenant's log, if any. */
  latest(tenantId: string | null): Promise<StoredCheckpoint | undefined> {
    return this.#store.latestCheckpoint(logKeyOf(tenantId))
  }

  /** A consistency proof from tree size `from` to `to` (both at most the newest checkpoint). */
  async consistency(
    tenantId: string | null,
    fromValue: unknown,
    toValue: unknown,
  ): Promise<{ from: number; to: number; proof: string[] }> {
    const from = size(fromValue, 'from')
    const to = size(toValue, 'to')
    if (from > to)
      throw new AuditedError('validation', 'from must not be above to.', { details: { field: 'from' } })
    const logKey = logKeyOf(tenantId)
    const latest = await this.#store.latestCheckpoint(logKey)
    if (to > (latest?.treeSize ?? 0))
      throw new AuditedError('validation', 'to is above the newest checkpoint.', { details: { field: 'to' } })
    const proof = await consistencyPath(from, to, this.#store.perfect(logKey, nodeHasher), nodeHasher)
    return { from, to, proof: proof.map(toHex) }
  }
}
