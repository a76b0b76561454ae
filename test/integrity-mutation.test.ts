/**
 * Mutation test of the tamper evidence, on every dialect: a sealed, witnessed log is
 * tampered with at random — one field of one event changed, an event deleted, a forged one
 * inserted inside the sealed range, two events swapped, the tail truncated (events, leaves,
 * nodes, checkpoints and the log's size, consistently), the whole log rebuilt from altered
 * events and re-signed with another key (or with the real key), a checkpoint dropped — and
 * `verifyLogs` must report it every time, with the right kind and event; the restored log
 * must verify clean. The seed is printed; AUDITED_MUTATION_SEED replays a run.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { sql } from 'kysely'
import {
  type FindingKind,
  generateSigningKey,
  parseVerifierKey,
  signerFromKey,
  startSealer,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { ctx, forEachDialect, forgedIdAfter, newId, posts } from './setup.js'

const CASES = Number(process.env.AUDITED_MUTATION_CASES ?? 120)
const TABLES = [
  'change_events',
  'audited_log_leaves',
  'audited_log_nodes',
  'audited_checkpoints',
  'audited_logs',
]
const TEXT_FIELDS = ['actor_id', 'record_id', 'reason', 'request_id', 'user_agent', 'table_name']

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Kind =
  | 'modify'
  | 'delete'
  | 'insert'
  | 'swap'
  | 'truncate'
  | 'resign_other_key'
  | 'resign_same_key'
  | 'drop_checkpoint'
const KINDS: Kind[] = [
  'modify',
  'delete',
  'insert',
  'swap',
  'truncate',
  'resign_other_key',
  'resign_same_key',
  'drop_checkpoint',
]

forEachDialect('tamper evidence under random mutations', (f) => {
  const keyText = generateSigningKey('audited.mutation')
  const signer = signerFromKey(keyText)
  const verifier = parseVerifierKey(signer.verifierKey)
  const witnessed: string[] = []
  const tenants = [`m1-${newId()}`, `m2-${newId()}`]
  const seed = Number(process.env.AUDITED_MUTATION_SEED ?? Math.floor(Math.random() * 2 ** 31))
  // biome-ignore lint/suspicious/noExplicitAny: the test addresses the integrity tables by name.
  const db = () => f.db.kysely as any
  const exec = (text: string) => sql.raw(text).execute(f.db.kysely)

  before(async () => {
    const sealer = startSealer({
      db: f.db,
      auditor: f.auditor,
      signer,
      worker: true, // the leaf worker's hashes, checked by every test below
      checkpointEvents: 4,
      onCheckpoint: (c) => {
        witnessed.push(c.note)
      },
    })
    for (let round = 0; round < 6; round += 1) {
      for (const tenantId of tenants) {
        const ids = Array.from({ length: 2 + round }, () => newId())
        await f.auditor.createMany(
          posts,
          ids.map((id) => ({ id, title: `t ${id}` })),
          { ...ctx, tenantId, reason: `round ${round}` },
        )
        await f.auditor.update(posts, ids[0]!, { views: round + 1 }, { ...ctx, tenantId })
      }
      await sealer.flush()
    }
    await sealer.stop()
    for (const t of TABLES) await exec(`CREATE TABLE snap_${t} AS SELECT * FROM ${t}`)
    await exec('CREATE TABLE forge_row AS SELECT * FROM change_events WHERE 1 = 0')
  })

  const restore = async () => {
    for (const t of TABLES) {
      await exec(`DELETE FROM ${t}`)
      await exec(`INSERT INTO ${t} SELECT * FROM snap_${t}`)
    }
  }

  /** The tenant's sealed events in feed order. */
  const eventsOf = async (tenantId: string) =>
    (await f.auditor.feed.read({ tenantId, limit: 1000 })).events.map((e) => ({
      id: e.eventId,
      position: e.position,
    }))

  const verify = () => verifyLogs({ db: f.db, auditor: f.auditor, verifier, witnessed })

  /** Rebuilds a tenant's log from the (altered) events with `key`, as a DBA would. */
  const reseal = async (tenantId: string, key: string) => {
    for (const t of ['audited_log_leaves', 'audited_log_nodes', 'audited_checkpoints', 'audited_logs'])
      await db().deleteFrom(t).where('log_key', '=', tenantId).execute()
    const forger = startSealer({
      db: f.db,
      auditor: f.auditor,
      signer: signerFromKey(key),
      consumer: `forger-${newId()}`,
      checkpointEvents: 4,
    })
    await forger.flush()
    await forger.stop()
  }

  it('an untouched log verifies clean', async () => {
    const report = await verify()
    assert.deepEqual(report.findings, [])
    assert.ok(report.logs.filter((l) => tenants.includes(l.tenantId ?? '')).every((l) => l.checkpoints >= 6))
  })

  it(`detects every one of ${CASES} random tamperings (seed ${seed})`, async () => {
    const rnd = prng(seed)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
    const seen = new Map<Kind, number>()
    for (let n = 0; n < CASES; n += 1) {
      await restore()
      if (n % 20 === 0) assert.deepEqual((await verify()).findings, [], `restored log clean before case ${n}`)
      const kind = KINDS[n % KINDS.length]!
      const tenantId = pick(tenants)
      const events = await eventsOf(tenantId)
      const target = pick(events.slice(0, -1)) // not the last: a forged neighbour stays inside the sealed range
      let expect: { kinds: FindingKind[]; eventId?: string }
      switch (kind) {
        case 'modify': {
          const column = pick(TEXT_FIELDS)
          await db()
            .updateTable('change_events')
            .set({ [column]: `tampered-${n}` })
            .where('event_id', '=', target.id)
            .execute()
          expect = { kinds: ['modified'], eventId: target.id }
          break
        }
        case 'delete':
          await db().deleteFrom('change_events').where('event_id', '=', target.id).execute()
          expect = { kinds: ['deleted'], eventId: target.id }
          break
        case 'insert': {
          const forged = await forgedIdAfter(target.id, async (x) =>
            Boolean(
              await db()
                .selectFrom('change_events')
                .select('event_id')
                .where('event_id', '=', x)
                .executeTakeFirst(),
            ),
          )
          await exec('DELETE FROM forge_row')
          await exec(`INSERT INTO forge_row SELECT * FROM change_events WHERE event_id = '${target.id}'`)
          await exec(`UPDATE forge_row SET event_id = '${forged}', reason = 'forged'`)
          await exec('INSERT INTO change_events SELECT * FROM forge_row')
          expect = { kinds: ['inserted'], eventId: forged }
          break
        }
        case 'swap': {
          const other = pick(events.filter((e) => e.position !== target.position))
          for (const [id, position] of [
            [target.id, other.position],
            [other.id, target.position],
          ] as const)
            await db()
              .updateTable('change_events')
              .set({ feed_pos: position })
              .where('event_id', '=', id)
              .execute()
          expect = { kinds: ['reordered'] }
          break
        }
        case 'truncate': {
          const keep = 1 + Math.floor(rnd() * (events.length - 1))
          const cut = events.slice(keep).map((e) => e.id)
          await db().deleteFrom('change_events').where('event_id', 'in', cut).execute()
          await db()
            .deleteFrom('audited_log_leaves')
            .where('log_key', '=', tenantId)
            .where('leaf_index', '>=', keep)
            .execute()
          await db().deleteFrom('audited_log_nodes').where('log_key', '=', tenantId).execute()
          await db()
            .deleteFrom('audited_checkpoints')
            .where('log_key', '=', tenantId)
            .where('tree_size', '>', keep)
            .execute()
          const last = events[keep - 1]!
          await db()
            .updateTable('audited_logs')
            .set({ size: keep, last_position: last.position, last_event_id: last.id, checkpoint_size: 0 })
            .where('log_key', '=', tenantId)
            .execute()
          expect = { kinds: ['truncated'] }
          break
        }
        case 'resign_other_key':
        case 'resign_same_key': {
          await db()
            .updateTable('change_events')
            .set({ reason: `rewritten-${n}` })
            .where('event_id', '=', target.id)
            .execute()
          await reseal(
            tenantId,
            kind === 'resign_same_key' ? keyText : generateSigningKey('audited.mutation'),
          )
          expect = {
            kinds: kind === 'resign_same_key' ? ['witness_mismatch'] : ['bad_signature', 'witness_mismatch'],
          }
          break
        }
        case 'drop_checkpoint': {
          const sizes = (
            await db()
              .selectFrom('audited_checkpoints')
              .select('tree_size')
              .where('log_key', '=', tenantId)
              .execute()
          ).map((r: { tree_size: unknown }) => Number(r.tree_size))
          await db()
            .deleteFrom('audited_checkpoints')
            .where('log_key', '=', tenantId)
            .where('tree_size', '=', pick(sizes))
            .execute()
          expect = { kinds: ['checkpoint_missing'] }
          break
        }
      }
      const report = await verify()
      const hits = report.findings.filter(
        (x) =>
          x.tenantId === tenantId &&
          expect.kinds.includes(x.kind) &&
          (expect.eventId === undefined || x.eventId === expect.eventId),
      )
      assert.ok(
        !report.clean && hits.length > 0,
        `case ${n} (${kind}, seed ${seed}) not detected as ${expect.kinds.join('/')}: ${JSON.stringify(report.findings)}`,
      )
      seen.set(kind, (seen.get(kind) ?? 0) + 1)
    }
    assert.equal(seen.size, Math.min(KINDS.length, CASES), 'every kind of tampering ran')
  })
})
