/**
 * `verify` over a log of several pages, on every dialect: pages are read ahead by key
 * ranges (verify-reader.ts), leaves by index ranges (verify.ts). Every event is seen once,
 * in order, across the page boundaries; a deletion or a change in a later page, and a
 * leaf range emptied by deletion, are found exactly.
 */
import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { before, it } from 'node:test'
import type { Kysely } from 'kysely'
import {
  generateSigningKey,
  parseVerifierKey,
  signerFromKey,
  startSealer,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { sealAll } from './seal-all.js'
import { ctx, forEachDialect, newId, posts } from './setup.js'

// biome-ignore lint/suspicious/noExplicitAny: the test alters the library's tables directly.
type Db = Kysely<any>

/** Over three feed pages and three leaf ranges of 1,000. */
const EVENTS = 3_200

forEachDialect('verify across pages', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.test'))
  const verifier = parseVerifierKey(signer.verifierKey)
  const tenant = `pages-${newId()}`
  const k = () => f.db.kysely as Db
  const verify = (workers = false) =>
    verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId: tenant, workers })
  /** Leaf workers `verify` reads in where asked to: SQLite reads in this process (two, or one
   * per CPU); a server builds the leaves on its own connections already. */
  const threads = () => (f.name === 'sqlite' ? Math.min(2, availableParallelism()) : 0)
  let ids: string[] = []

  before(async () => {
    for (let i = 0; i < EVENTS; i += 400)
      await f.auditor.createMany(
        posts,
        Array.from({ length: Math.min(400, EVENTS - i) }, (_, n) => ({
          id: newId(),
          title: `post ${i + n}`,
        })),
        { ...ctx, tenantId: tenant },
      )
    const sealer = startSealer({ db: f.db, auditor: f.auditor, signer })
    await sealAll(sealer, f.db, tenant)
    await sealer.stop()
    const leaves = await k()
      .selectFrom('audited_log_leaves')
      .select('event_id')
      .where('log_key', '=', tenant)
      .orderBy('leaf_index')
      .execute()
    ids = leaves.map((l) => String(l.event_id))
  })

  for (const workers of [false, true])
    it(`a clean log of several pages: every event once, no recheck (workers: ${workers})`, async () => {
      const progress: number[] = []
      const r = await verifyLogs({
        db: f.db,
        auditor: f.auditor,
        verifier,
        tenantId: tenant,
        workers,
        onProgress: (done) => progress.push(done),
      })
      assert.deepEqual(r.findings, [])
      assert.equal(r.events, EVENTS)
      assert.equal(r.logs[0]?.leaves, EVENTS)
      assert.equal(r.rechecked, 0)
      assert.deepEqual(progress, [1000, 2000, 3000, EVENTS])
      assert.equal(r.threads, workers ? threads() : 0)
    })

  it('a change in the third page, a deletion in the second and a leaf range emptied are found', async () => {
    const changed = ids[2_500]!
    const deleted = ids[1_500]!
    await k().updateTable('change_events').set({ reason: 'forged' }).where('event_id', '=', changed).execute()
    await k().deleteFrom('change_events').where('event_id', '=', deleted).execute()
    // Leaves 1000…1999 gone: their events are then in no leaf (inserted), one range is empty.
    await k()
      .deleteFrom('audited_log_leaves')
      .where('log_key', '=', tenant)
      .where('leaf_index', '>=', 1000)
      .where('leaf_index', '<', 2000)
      .execute()
    const r = await verify()
    // The leaf workers read the same pages and find the same.
    const threaded = await verify(true)
    assert.equal(threaded.threads, threads())
    assert.deepEqual(threaded.findings, r.findings)
    assert.equal(threaded.events, r.events)
    const byKind = (kind: string) => r.findings.filter((x) => x.kind === kind)
    assert.deepEqual(
      byKind('modified').map((x) => x.eventId),
      [changed],
    )
    assert.equal(byKind('inserted').length, 999, 'the events of the deleted leaves (less the deleted event)')
    assert.ok(byKind('deleted').some((x) => x.leafIndex === 1000))
    assert.ok(byKind('root_mismatch').length > 0)
    assert.equal(r.events, EVENTS - 1)
  })
})
