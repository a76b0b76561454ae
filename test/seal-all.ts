import type {
  AuditedDatabase,
  ChangeEvent,
  EventProof,
  LogProofs,
  Sealer,
} from '../packages/audited/src/index.js'
import {
  type CheckpointFacts,
  eventLeafHash,
  fromHex,
  openCheckpoint,
  type Verifier,
  verifyInclusion,
} from '../packages/audited/src/proofs.js'

/**
 * Flushes the sealer until every event of the tenant has a leaf and the newest checkpoint
 * covers the whole log. One `flush` is not always enough: on PostgreSQL the feed's bound
 * waits for transactions open anywhere in the cluster (other test files' included), so an
 * event committed just before may only become readable a moment later.
 */
export async function sealAll(sealer: Sealer, db: AuditedDatabase, tenantId: string): Promise<void> {
  // biome-ignore lint/suspicious/noExplicitAny: the integrity tables by name.
  const k = db.kysely as any
  for (let attempt = 0; attempt < 400; attempt += 1) {
    await sealer.flush()
    const unsealed = await k
      .selectFrom('change_events as e')
      .leftJoin('audited_log_leaves as l', 'l.event_id', 'e.event_id')
      .select((eb: { fn: { countAll(): { as(n: string): unknown } } }) => eb.fn.countAll().as('n'))
      .where('e.tenant_id', '=', tenantId)
      .where('l.event_id', 'is', null)
      .executeTakeFirst()
    const log = await k
      .selectFrom('audited_logs')
      .selectAll()
      .where('log_key', '=', tenantId)
      .executeTakeFirst()
    if (Number(unsealed?.n) === 0 && log !== undefined && Number(log.checkpoint_size) === Number(log.size))
      return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`the events of ${tenantId} were not all sealed`)
}

/** The event's inclusion proof against the checkpoint it names, checked with the portable
 * functions: the proof, the checkpoint's facts, and whether the leaf is in its tree. */
export async function checkInclusion(
  proofs: LogProofs,
  e: ChangeEvent,
  tenantId: string | null,
  verifier: Verifier,
): Promise<{ proof: EventProof; facts: CheckpointFacts; included: boolean }> {
  const proof = await proofs.event(e.eventId, tenantId)
  const facts = openCheckpoint(proof.checkpoint.note, verifier)
  const included = verifyInclusion(
    eventLeafHash(e),
    proof.leafIndex,
    proof.treeSize,
    proof.path.map(fromHex),
    fromHex(facts.rootHash),
  )
  return { proof, facts, included }
}
