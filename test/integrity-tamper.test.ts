/**
 * The verifier against tampering, on every dialect: each tenant's sealed log is altered one
 * way straight in the database (an event changed, deleted, inserted or moved; a leaf
 * changed; the log's tail cut; a checkpoint dropped or altered; a log rewritten behind a
 * witness's back), and `verifyLogs` must name exactly what was done — and nothing in the
 * untouched tenant's log.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import type { Kysely } from 'kysely'
import {
  type Finding,
  generateSigningKey,
  parseVerifierKey,
  type SealedCheckpoint,
  signerFromKey,
  startSealer,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { rewriteRightEdge } from './log-rewrite.js'
import { ctx, forEachDialect, forgedIdAfter, newId, posts } from './setup.js'

// biome-ignore lint/suspicious/noExplicitAny: the test alters the library's tables directly.
type Db = Kysely<any>

const EVENTS = 12
const CASES = [
  'clean',
  'modified',
  'deleted',
  'inserted',
  'reordered',
  'leaf',
  'garbled',
  'cut',
  'dropped',
  'altered',
  'witness',
] as const
type Case = (typeof CASES)[number]

const kinds = (findings: readonly Finding[]) => [...new Set(findings.map((f) => f.kind))].sort()

forEachDialect('verifying tampered logs', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.test'))
  const verifier = parseVerifierKey(signer.verifierKey)
  const published: SealedCheckpoint[] = []
  const tenant = Object.fromEntries(CASES.map((c) => [c, `${c}-${newId()}`])) as Record<Case, string>
  /** Each tenant's event ids, in feed (= leaf) order. */
  const ids = {} as Record<Case, string[]>
  const k = () => f.db.kysely as Db
  const verify = (c: Case, witnessed?: readonly string[]) =>
    verifyLogs({
      db: f.db,
      auditor: f.auditor,
      verifier,
      tenantId: tenant[c],
      ...(witnessed ? { witnessed } : {}),
    })

  before(async () => {
    const sealer = startSealer({
      db: f.db,
      auditor: f.auditor,
      signer,
      worker: true, // the leaf worker's hashes, checked by every test below
      checkpointEvents: 4,
      onCheckpoint: (c) => {
        published.push(c)
      },
    })
    // One transaction per event, interleaving the tenants: every event has its own feed place.
    // A flush every 4 rounds checkpoints every log: at least EVENTS / 4 checkpoints per
    // tenant however the sealer's batches fall (a loaded machine let it seal the whole
    // backlog in one batch, one checkpoint, and the checkpoint cases had nothing to drop).
    for (let i = 0; i < EVENTS; i += 1) {
      for (const c of CASES)
        await f.auditor.create(posts, { id: newId(), title: `${c} ${i}` }, { ...ctx, tenantId: tenant[c] })
      if (i % 4 === 3) await sealer.flush()
    }
    await sealer.flush()
    await sealer.stop()
    for (const c of CASES) {
      const { events } = await f.auditor.feed.read({ tenantId: tenant[c], limit: 100 })
      ids[c] = events.map((e) => e.eventId)
      assert.equal(ids[c].length, EVENTS)
    }
  })

  it('finds nothing in an untouched log', async () => {
    const r = await verify('clean')
    assert.deepEqual(r.findings, [])
    assert.equal(r.events, EVENTS)
    assert.deepEqual(r.logs, [
      { tenantId: tenant.clean, leaves: EVENTS, checkpoints: r.logs[0]!.checkpoints, unsealed: 0 },
    ])
    assert.ok(r.logs[0]!.checkpoints >= 3)
  })

  it('names a changed event', async () => {
    const id = ids.modified[5]!
    await k()
      .updateTable('change_events')
      .set({ new_values: JSON.stringify({ title: 'rewritten' }) })
      .where('event_id', '=', id)
      .execute()
    const r = await verify('modified')
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.eventId, x.leafIndex]),
      [['modified', id, 5]],
    )
  })

  it('names a deleted event', async () => {
    const id = ids.deleted[3]!
    await k().deleteFrom('change_events').where('event_id', '=', id).execute()
    const r = await verify('deleted')
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.eventId, x.leafIndex]),
      [['deleted', id, 3]],
    )
    assert.equal(r.events, EVENTS - 1)
  })

  it('names an event inserted into the sealed part of the feed', async () => {
    const row = await k()
      .selectFrom('change_events')
      .selectAll()
      .where('event_id', '=', ids.inserted[6]!)
      .executeTakeFirstOrThrow()
    // This handle's driver may hand JSON columns back parsed: store them back as text.
    for (const c of ['old_values', 'changed_fields', 'metadata'])
      if (row[c] !== null && typeof row[c] !== 'string') row[c] = JSON.stringify(row[c])
    // Right after event 6 in feed order: the same place, a larger id.
    const base = ids.inserted[6]!
    const id = await forgedIdAfter(base, async (x) =>
      Boolean(
        await k().selectFrom('change_events').select('event_id').where('event_id', '=', x).executeTakeFirst(),
      ),
    )
    await k()
      .insertInto('change_events')
      .values({ ...row, event_id: id, new_values: JSON.stringify({ title: 'forged' }) })
      .execute()
    const r = await verify('inserted')
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.eventId]),
      [['inserted', id]],
    )
    assert.equal(r.events, EVENTS + 1)
  })

  it('names events moved in the feed order', async () => {
    const [a, b] = [ids.reordered[2]!, ids.reordered[8]!]
    const pos = async (id: string) =>
      (
        await k()
          .selectFrom('change_events')
          .select('feed_pos')
          .where('event_id', '=', id)
          .executeTakeFirstOrThrow()
      ).feed_pos
    const [pa, pb] = [await pos(a), await pos(b)]
    await k().updateTable('change_events').set({ feed_pos: pb }).where('event_id', '=', a).execute()
    await k().updateTable('change_events').set({ feed_pos: pa }).where('event_id', '=', b).execute()
    const r = await verify('reordered')
    // Event 8 now comes where 2 was and 2 where 8 was: each is out of place.
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.eventId, x.leafIndex]),
      [
        ['reordered', a, 2],
        ['reordered', b, 8],
      ],
    )
  })

  it('names a changed leaf, and every checkpoint it breaks', async () => {
    const id = ids.leaf[1]!
    await k()
      .updateTable('audited_log_leaves')
      .set({ leaf_hash: '00'.repeat(32) })
      .where('event_id', '=', id)
      .execute()
    const r = await verify('leaf')
    assert.deepEqual(kinds(r.findings), ['modified', 'root_mismatch'])
    assert.deepEqual(
      r.findings.filter((x) => x.kind === 'modified').map((x) => [x.eventId, x.leafIndex]),
      [[id, 1]],
    )
    // Every checkpoint above one leaf covers leaf 1.
    assert.deepEqual(
      r.findings.filter((x) => x.kind === 'root_mismatch').map((x) => x.treeSize),
      published.filter((c) => c.tenantId === tenant.leaf && c.treeSize > 1).map((c) => c.treeSize),
    )
  })

  it('names a leaf whose stored hash is not a hash at all, without failing', async () => {
    // Not hex, of the wrong length, in upper case: the run reports them like any changed
    // leaf (a DBA's garbage is tampering too) instead of throwing.
    const garbage = ['zz'.repeat(32), 'not a hash', 'AB'.repeat(32)]
    for (const [i, hash] of garbage.entries())
      await k()
        .updateTable('audited_log_leaves')
        .set({ leaf_hash: hash })
        .where('event_id', '=', ids.garbled[i * 4 + 1]!)
        .execute()
    const r = await verify('garbled')
    assert.deepEqual(kinds(r.findings), ['modified', 'root_mismatch'])
    assert.deepEqual(
      r.findings.filter((x) => x.kind === 'modified').map((x) => [x.eventId, x.leafIndex]),
      garbage.map((_, i) => [ids.garbled[i * 4 + 1]!, i * 4 + 1]),
    )
    assert.deepEqual(
      r.findings.filter((x) => x.kind === 'root_mismatch').map((x) => x.treeSize),
      published.filter((c) => c.tenantId === tenant.garbled && c.treeSize > 1).map((c) => c.treeSize),
    )
  })

  it('names a log whose tail was cut', async () => {
    await k()
      .deleteFrom('audited_log_leaves')
      .where('log_key', '=', tenant.cut)
      .where('leaf_index', '>=', EVENTS - 2)
      .execute()
    const r = await verify('cut')
    assert.deepEqual(kinds(r.findings), ['inserted', 'truncated'])
    assert.deepEqual(
      r.findings.filter((x) => x.kind === 'inserted').map((x) => x.eventId),
      ids.cut.slice(EVENTS - 2),
    )
    assert.deepEqual(
      r.findings.filter((x) => x.kind === 'truncated').map((x) => x.treeSize),
      [EVENTS],
    )
  })

  it('names a checkpoint dropped from the chain', async () => {
    const sizes = published.filter((c) => c.tenantId === tenant.dropped).map((c) => c.treeSize)
    assert.ok(sizes.length >= 3)
    await k()
      .deleteFrom('audited_checkpoints')
      .where('log_key', '=', tenant.dropped)
      .where('tree_size', '=', sizes[1]!)
      .execute()
    const r = await verify('dropped')
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.treeSize]),
      [['checkpoint_missing', sizes[2]]],
    )
  })

  it('names a checkpoint whose row or signature was altered', async () => {
    const sizes = published.filter((c) => c.tenantId === tenant.altered).map((c) => c.treeSize)
    await k()
      .updateTable('audited_checkpoints')
      .set({ root_hash: '11'.repeat(32) })
      .where('log_key', '=', tenant.altered)
      .where('tree_size', '=', sizes[0]!)
      .execute()
    const note = published.find((c) => c.tenantId === tenant.altered && c.treeSize === sizes[1])!.note
    await k()
      .updateTable('audited_checkpoints')
      .set({ note: note.replace(/\n\n/, '\nextra\n\n') })
      .where('log_key', '=', tenant.altered)
      .where('tree_size', '=', sizes[1]!)
      .execute()
    const r = await verify('altered')
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.treeSize]),
      [
        ['bad_signature', sizes[0]],
        ['bad_signature', sizes[1]],
        // The chain skips the checkpoint whose note does not verify.
        ['checkpoint_missing', sizes[2]],
      ],
    )
  })

  it('names a log rewritten behind its witnesses', async () => {
    const witnessed = published.filter((c) => c.tenantId === tenant.witness).map((c) => c.note)
    // Rewrite event 0 and its leaf together, and drop the checkpoints: the database alone
    // is consistent again (its stored right edge rewritten too), the witnesses are not.
    const id = ids.witness[0]!
    await k()
      .updateTable('change_events')
      .set({ new_values: JSON.stringify({ title: 'rewritten' }) })
      .where('event_id', '=', id)
      .execute()
    const { events } = await f.auditor.feed.read({ tenantId: tenant.witness, limit: 1 })
    const { eventLeafHash, toHex } = await import('../packages/audited/src/proofs.js')
    await k()
      .updateTable('audited_log_leaves')
      .set({ leaf_hash: toHex(eventLeafHash(events[0]!)) })
      .where('event_id', '=', id)
      .execute()
    await k().deleteFrom('audited_checkpoints').where('log_key', '=', tenant.witness).execute()
    await rewriteRightEdge(k(), tenant.witness)
    assert.deepEqual((await verify('witness')).findings, [])
    const r = await verify('witness', witnessed)
    assert.deepEqual(kinds(r.findings), ['checkpoint_missing', 'witness_mismatch'])
    assert.equal(r.findings.filter((x) => x.kind === 'witness_mismatch').length, witnessed.length)
  })

  it('reports every tenant at once, the untouched one clean', async () => {
    const r = await verifyLogs({ db: f.db, auditor: f.auditor, verifier })
    const byTenant = new Map<string | null, Finding[]>()
    for (const x of r.findings) byTenant.set(x.tenantId, [...(byTenant.get(x.tenantId) ?? []), x])
    assert.equal(byTenant.get(tenant.clean), undefined)
    for (const c of CASES.filter((c) => c !== 'clean' && c !== 'witness'))
      assert.ok((byTenant.get(tenant[c])?.length ?? 0) > 0, c)
    for (const c of CASES) {
      const alone = await verify(c)
      assert.deepEqual(byTenant.get(tenant[c]) ?? [], alone.findings, c)
    }
  })
})
