/** Review: ordering across clocks (two auditors = two processes / two auditors in one process). */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { createAuditor, HlcClock } from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId, PERSONAL_DATA, posts } from './setup.js'

forEachDialect('regressions: ordering', (f) => {
  it('per record, HLC order is commit order across two writers with skewed clocks', async () => {
    // Writer A's clock runs 50 ms ahead (ordinary NTP skew between two hosts).
    const a = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      nodeId: 'A',
      clock: new HlcClock({ physical: () => Date.now() + 50 }),
    })
    const b = createAuditor({ personalData: PERSONAL_DATA, db: f.db, nodeId: 'B' })
    const id = newId()
    await a.create(posts, { id, title: `v0 ${id}` }, ctx)
    await a.update(posts, id, { title: `v1 ${id}` }, ctx)
    await b.update(posts, id, { title: `v2 ${id}` }, ctx) // commits last, under the row lock
    const hist = (await b.events.history(posts, id)).events
    assert.deepEqual(
      hist.map((e) => e.newValues!.title),
      [`v0 ${id}`, `v1 ${id}`, `v2 ${id}`],
      'history must be in commit order',
    )
    // B took an HLC above A's (it read the record's newest event under the row lock).
    assert.ok(BigInt(hist[2]!.hlc) > BigInt(hist[1]!.hlc))
    const now = await b.events.stateAt(posts, id, hist[2]!.hlc)
    assert.equal(now!.title, `v2 ${id}`)
    assert.equal((await b.events.stateAt(posts, id, hist[1]!.hlc))!.title, `v1 ${id}`)
  })

  it('two auditors in one process: a feed reader never skips a late commit', async () => {
    const a = createAuditor({ personalData: PERSONAL_DATA, db: f.db })
    const b = createAuditor({ personalData: PERSONAL_DATA, db: f.db })
    const tenant = `two-${newId()}`
    const tctx = { ...ctx, tenantId: tenant }
    let release!: () => void
    const held = new Promise<void>((r) => {
      release = r
    })
    let started!: () => void
    const begun = new Promise<void>((r) => {
      started = r
    })
    const early = newId()
    const t1 = a.transaction(tctx, async (tx) => {
      await tx.create(posts, { id: early, title: `early ${early}` })
      started()
      await held
    })
    await begun
    // SQLite has one writer: T2 must wait for T1 there, so only test the reader on pools.
    if (f.name === 'sqlite') {
      release()
      await t1
      return
    }
    const late = newId()
    await b.create(posts, { id: late, title: `late ${late}` }, tctx)
    const p1 = await b.feed.read({ tenantId: tenant })
    release()
    await t1
    // Following the cursor: on PostgreSQL any open transaction of the cluster (another
    // test file's) may hold the feed back a moment, so read on until both are there.
    const seen = p1.events.map((e) => e.recordId)
    let cursor = p1.cursor
    for (const deadline = Date.now() + 10_000; seen.length < 2 && Date.now() < deadline; ) {
      const page = await b.feed.read({ tenantId: tenant, after: cursor })
      seen.push(...page.events.map((e) => e.recordId))
      cursor = page.cursor
      if (seen.length < 2) await new Promise((r) => setTimeout(r, 20))
    }
    assert.deepEqual(seen.sort(), [early, late].sort(), 'the reader saw every event, each once')
  })
})
