/**
 * The sealer on this thread takes the leaves of this process's own events from the feed's
 * tap (integrity/leaf-cache.ts: hashed as written, right after COMMIT) and reads only their
 * places; events of another process are read whole. On every dialect: a log mixing both
 * kinds, and awkward values, verifies clean with every leaf as the stored event gives it,
 * and every proof checks with the portable leaf; a row changed in the database after its
 * COMMIT but before it was sealed is sealed as written, so verify reports it.
 */
import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import type { Kysely } from 'kysely'
import { sql } from 'kysely'
import {
  type AuditedDatabase,
  type Auditor,
  createAuditor,
  generateSigningKey,
  LogProofs,
  parseVerifierKey,
  signerFromKey,
  startSealer,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { checkInclusion, sealAll } from './seal-all.js'
import { ctx, forEachDialect, newId, posts } from './setup.js'

// biome-ignore lint/suspicious/noExplicitAny: the test edits the events table directly.
type Db = Kysely<any>

const AWKWARD = 'q"uote \\ / \b\f\n\r\t \u0001 del \u007f é 漢字 😀 \u2028'

forEachDialect('sealing from the commit tap', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.test'))
  const verifier = parseVerifierKey(signer.verifierKey)
  let otherDb: AuditedDatabase
  let other: Auditor

  before(async () => {
    // Another process: its own handle and auditor, whose commits this sealer never sees.
    otherDb = await f.open()
    other = createAuditor({ db: otherDb })
  })
  after(async () => {
    await other.close()
    await otherDb.close()
  })

  it("a log of this process's and another's events: clean, leaves as stored, proofs check", async () => {
    const tenantId = `mix-${newId()}`
    const context = { ...ctx, tenantId, reason: `why ${AWKWARD}`, metadata: { [AWKWARD]: [1, 0.5, -0] } }
    const sealer = startSealer({ db: f.db, auditor: f.auditor, signer, worker: false, checkpointEvents: 5 })
    try {
      for (let i = 0; i < 6; i += 1) {
        const mine = newId()
        await f.auditor.create(
          posts,
          { id: mine, title: `${AWKWARD} ${newId()}`, tags: { b: 1, a: [AWKWARD] } },
          context,
        )
        await other.create(posts, { id: newId(), title: `other ${newId()}` }, context)
        await f.auditor.update(posts, mine, { title: `second ${AWKWARD} ${newId()}`, views: 7 }, context)
        if (i % 2 === 0)
          await other.createMany(
            posts,
            [
              { id: newId(), title: `x ${newId()}` },
              { id: newId(), title: `y ${newId()}` },
            ],
            context,
          )
      }
      await sealAll(sealer, f.db, tenantId)
    } finally {
      await sealer.stop()
    }
    const report = await verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId })
    assert.deepEqual(report.findings, [])
    assert.equal(report.events, 6 * 3 + 3 * 2)
    assert.equal(report.rechecked, 0, 'a database-built leaf differs from the sealed one')

    const proofs = new LogProofs(f.db)
    const { events } = await f.auditor.feed.read({ tenantId, limit: 100 })
    assert.equal(events.length, 24)
    for (const e of events) {
      const { included } = await checkInclusion(proofs, e, tenantId, verifier)
      assert.ok(included, `the proof of ${e.eventId} (${e.operation})`)
    }
  })

  it('a row changed after its COMMIT, before it was sealed, is sealed as written: verify reports it', async () => {
    const tenantId = `window-${newId()}`
    const context = { ...ctx, tenantId }
    // The first event's batch lingers (up to 10 s): the second one commits, and is changed
    // in the database, before the sealer reads it.
    const sealer = startSealer({ db: f.db, auditor: f.auditor, signer, worker: false, lingerMs: 10_000 })
    let changed: string
    try {
      await f.auditor.create(posts, { id: newId(), title: `first ${newId()}` }, context)
      await new Promise((r) => setTimeout(r, 300)) // the sealer has read the first
      const id = newId()
      await f.auditor.create(posts, { id, title: `as written ${newId()}` }, context)
      // From the table: on PostgreSQL the feed may hold the event back a moment (a
      // transaction open elsewhere in the cluster).
      const row = await (f.db.kysely as Db)
        .selectFrom('change_events')
        .select('event_id')
        .where('record_id', '=', id)
        .executeTakeFirstOrThrow()
      changed = String(row.event_id)
      await (f.db.kysely as Db)
        .updateTable('change_events')
        .set({ actor_id: 'someone-else' })
        .where('event_id', '=', changed)
        .execute()
      await sealAll(sealer, f.db, tenantId)
    } finally {
      await sealer.stop()
    }
    const report = await verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId })
    assert.deepEqual(
      report.findings.filter((x) => x.kind === 'modified').map((x) => x.eventId),
      [changed],
      JSON.stringify(report.findings),
    )
  })
  it("the caller's context object changed inside its transaction changes nothing recorded", async () => {
    const tenantId = `ctx-${newId()}`
    const context = { ...ctx, tenantId, reason: 'as checked' }
    const sealer = startSealer({ db: f.db, auditor: f.auditor, signer, worker: false })
    try {
      await f.auditor.transaction(context, async (tx) => {
        await tx.create(posts, { id: newId(), title: `a ${newId()}` })
        // Text no database stores alike (a lone surrogate), after the context was checked.
        context.reason = 'changed \ud800 later'
        await tx.create(posts, { id: newId(), title: `b ${newId()}` })
      })
      await sealAll(sealer, f.db, tenantId)
    } finally {
      await sealer.stop()
    }
    const { events } = await f.auditor.feed.read({ tenantId, limit: 10 })
    assert.deepEqual(
      events.map((e) => e.reason),
      ['as checked', 'as checked'],
    )
    const report = await verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId })
    assert.deepEqual(report.findings, [])
  })

  it('a node id no database stores alike is refused when the auditor is made', () => {
    assert.throws(
      () => createAuditor({ db: f.db, nodeId: 'node-\ud800' }),
      (e: unknown) => (e as { code?: string }).code === 'validation' && /nodeId/.test(String(e)),
    )
  })

  it("a hook changing the event's changedFields while the COMMIT is under way: sealed as stored", async (t) => {
    if (f.name === 'sqlite') return t.skip("SQLite's COMMIT runs on this thread: nothing runs during it")
    const tenantId = `hook-${newId()}`
    const slow = {
      compile: () =>
        (f.name === 'postgres' ? sql`SELECT pg_sleep(0.05)` : sql`DO SLEEP(0.05)`).compile(f.db.kysely),
    }
    const hooked = createAuditor({
      db: f.db,
      hooks: {
        before: (c) => {
          if (c.operation !== 'UPDATE') return
          c.defer(slow) // the COMMIT request takes 50 ms
          const fields = c.changedFields as string[]
          setTimeout(() => fields.push('forged'), 10)
        },
      },
    })
    const sealer = startSealer({ db: f.db, auditor: hooked, signer, worker: false })
    try {
      const id = newId()
      await hooked.create(posts, { id, title: `a ${newId()}` }, { ...ctx, tenantId })
      await hooked.update(posts, id, { title: `b ${newId()}` }, { ...ctx, tenantId })
      await sealAll(sealer, f.db, tenantId)
    } finally {
      await sealer.stop()
      await hooked.close()
    }
    const report = await verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId })
    assert.deepEqual(report.findings, [])
    assert.equal(report.events, 2)
  })
})
