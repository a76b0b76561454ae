/**
 * Invariant 7 (ordering): within a node HLCs strictly increase, and a consumer following
 * `events.list` cursors never skips an event that commits late with an earlier HLC.
 * Also the list API itself: filters, keyset pages, bad cursors.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type ChangeEvent, createAuditor, isAuditedError } from '../packages/audited/src/index.js'
import { gate } from './gate.js'
import { ctx, forEachDialect, newId, PERSONAL_DATA, posts } from './setup.js'

const code = (c: string) => (e: unknown) => isAuditedError(e) && e.code === c

/** Follows the cursor from `after` until a page comes back empty. */
async function drainFeed(
  read: (after: string | undefined) => Promise<{ events: ChangeEvent[]; cursor: string }>,
  after: string | undefined,
): Promise<{ events: ChangeEvent[]; cursor: string }> {
  const events: ChangeEvent[] = []
  let cursor = after
  for (;;) {
    const page = await read(cursor)
    events.push(...page.events)
    if (page.cursor === cursor || page.events.length === 0) return { events, cursor: page.cursor }
    cursor = page.cursor
  }
}

forEachDialect('ordering', (f) => {
  it("one node's HLCs strictly increase across calls and within a transaction", async () => {
    const ids = [newId(), newId(), newId()]
    await f.auditor.transaction(ctx, async (tx) => {
      for (const id of ids) await tx.create(posts, { id, title: `hlc ${id}` })
    })
    await f.auditor.update(posts, ids[0]!, { views: 1 }, ctx)
    const events = (await Promise.all(ids.map((id) => f.auditor.events.history(posts, id)))).flatMap(
      (p) => p.events,
    )
    const hlcs = events.map((e) => BigInt(e.hlc)).sort((a, b) => (a < b ? -1 : 1))
    for (let i = 1; i < hlcs.length; i++) assert.ok(hlcs[i]! > hlcs[i - 1]!, 'no two events share an HLC')
    const [created, updated] = (await f.auditor.events.history(posts, ids[0]!)).events
    assert.ok(BigInt(updated!.hlc) > BigInt(created!.hlc))
  })

  it('a feed reader never skips a transaction that commits late with an earlier HLC', async () => {
    const tenant = `order-${newId()}`
    const tctx = { ...ctx, tenantId: tenant }
    const read = async (after: string | undefined) => {
      const page = await f.auditor.feed.read({ tenantId: tenant, after, limit: 2 })
      return { events: page.events as ChangeEvent[], cursor: page.cursor }
    }
    const early = newId()
    const late = newId()
    const release = gate()
    const opened = gate()
    // T1 begins first (earlier HLC) and stays open.
    const t1 = f.auditor.transaction(tctx, async (tx) => {
      await tx.create(posts, { id: early, title: `early ${early}` })
      opened.open()
      await release.wait
    })
    await opened.wait
    // T2 begins later (later HLC). On PostgreSQL and MariaDB it commits while T1 is open;
    // SQLite has one writer, so it queues behind T1.
    const t2 = f.auditor.create(posts, { id: late, title: `late ${late}` }, tctx)
    if (f.name !== 'sqlite') await t2
    const first = await drainFeed(read, undefined)
    if (f.name === 'postgres') {
      // T2's position (its transaction id) is above T1's, which is still open: held back.
      assert.equal(
        first.events.some((e) => e.recordId === late),
        false,
        'T2 waits for T1 on PostgreSQL',
      )
    }
    // The list shows every committed event at once.
    const listed = await f.auditor.events.list({ tenantId: tenant })
    assert.equal(
      listed.events.some((e) => e.recordId === late),
      f.name !== 'sqlite',
    )
    release.open()
    await Promise.all([t1, t2])
    const rest = await drainFeed(read, first.cursor)
    const seen = [...first.events, ...rest.events].map((e) => e.recordId)
    assert.deepEqual(seen.sort(), [early, late].sort(), 'both events are read, each exactly once')
    const hlcOf = async (id: string) => BigInt((await f.auditor.events.history(posts, id)).events[0]!.hlc)
    assert.ok((await hlcOf(early)) < (await hlcOf(late)), 'T1 committed last but holds the earlier HLC')
  })

  it("another process's events are listed at once (no settle window)", async () => {
    const tenant = `settle-${newId()}`
    const tctx = { ...ctx, tenantId: tenant }
    const writer = createAuditor({ personalData: PERSONAL_DATA, db: f.db, nodeId: 'writer-node' })
    const reader = createAuditor({ personalData: PERSONAL_DATA, db: f.db, nodeId: 'reader-node' })
    const id = newId()
    await writer.create(posts, { id, title: `settle ${id}` }, tctx)
    const listed = await reader.events.list({ tenantId: tenant })
    assert.deepEqual(
      listed.events.map((e) => [e.recordId, e.nodeId]),
      [[id, 'writer-node']],
    )
    const fed = await reader.feed.read({ tenantId: tenant })
    assert.deepEqual(
      fed.events.map((e) => e.recordId),
      [id],
    )
  })

  it('list filters by tenant, table, record, actor, action and time, in HLC order', async () => {
    const tenant = `filters-${newId()}`
    const tctx = { ...ctx, tenantId: tenant }
    const a = newId()
    const b = newId()
    await f.auditor.create(posts, { id: a, title: `f a ${a}` }, tctx)
    await f.auditor.create(posts, { id: b, title: `f b ${b}` }, { ...tctx, actorId: 'user-2' })
    await f.auditor.update(posts, a, { status: 'published' }, tctx)
    const all = await f.auditor.events.list({ tenantId: tenant })
    assert.deepEqual(
      all.events.map((e) => [e.recordId, e.action]),
      [
        [a, 'create'],
        [b, 'create'],
        [a, 'publish'],
      ],
    )
    assert.equal(all.hasMore, false)
    const byActor = await f.auditor.events.list({ tenantId: tenant, actorId: 'user-2' })
    assert.deepEqual(
      byActor.events.map((e) => e.recordId),
      [b],
    )
    const byAction = await f.auditor.events.list({ tenantId: tenant, action: 'publish' })
    assert.deepEqual(
      byAction.events.map((e) => e.recordId),
      [a],
    )
    const byRecord = await f.auditor.events.list({ tenantId: tenant, table: 'posts', recordId: a })
    assert.equal(byRecord.events.length, 2)
    const [, second, third] = all.events
    const window = await f.auditor.events.list({ tenantId: tenant, from: second!.hlc, to: third!.hlc })
    assert.deepEqual(
      window.events.map((e) => e.eventId),
      [second!.eventId, third!.eventId],
    )
    const future = await f.auditor.events.list({ tenantId: tenant, from: new Date(Date.now() + 60_000) })
    assert.equal(future.events.length, 0)
    assert.equal((await f.auditor.events.list({ tenantId: `${tenant}-other` })).events.length, 0)
    const one = await f.auditor.events.get(second!.eventId, { tenantId: tenant })
    assert.equal(one.recordId, b)
    await assert.rejects(
      f.auditor.events.get(second!.eventId, { tenantId: 'someone-else' }),
      code('not_found'),
    )
  })

  it('keyset pages cover every event once, in order', async () => {
    const tenant = `pages-${newId()}`
    const rows = Array.from({ length: 7 }, (_, i) => ({ id: newId(), title: `page ${i} ${newId()}` }))
    await f.auditor.createMany(posts, rows, { ...ctx, tenantId: tenant })
    const pages: string[][] = []
    let after: string | undefined
    for (;;) {
      const page = await f.auditor.events.list({ tenantId: tenant, limit: 3, after })
      pages.push(page.events.map((e) => e.recordId))
      if (!page.hasMore) break
      after = page.nextCursor ?? undefined
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [3, 3, 1],
    )
    assert.deepEqual(
      pages.flat(),
      rows.map((r) => r.id),
    )
  })

  it('bad list arguments are validation errors', async () => {
    await assert.rejects(f.auditor.events.list({ after: 'not-a-cursor' }), code('validation'))
    await assert.rejects(f.auditor.events.list({ limit: 0 }), code('validation'))
    await assert.rejects(f.auditor.events.list({ limit: 1001 }), code('validation'))
    await assert.rejects(f.auditor.events.list({ from: 'yesterday' }), code('validation'))
    await assert.rejects(f.auditor.events.list({ table: '' }), code('validation'))
    await assert.rejects(f.auditor.events.get('nope'), code('validation'))
    await assert.rejects(f.auditor.events.stateAt(posts, 'x', 'soon'), code('validation'))
  })
})
