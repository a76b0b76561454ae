/**
 * `events.list({ order: 'desc' })` (and `GET /audit/events?order=desc`, the explorer's
 * activity feed): newest first, paged by cursor towards older events, every event once,
 * filters and bounds as in ascending order. On every dialect.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { ctx, forEachDialect, newId, posts } from './setup.js'

forEachDialect('events newest first', (f) => {
  it('pages newest first through every event exactly once, filters kept', async () => {
    const ids = [newId(), newId()]
    for (let i = 0; i < 7; i++) {
      const id = ids[i % 2]!
      if (i < 2) await f.auditor.create(posts, { id, title: `t${i}` }, { ...ctx, tenantId: 'desc' })
      else await f.auditor.update(posts, id, { title: `t${i}` }, { ...ctx, tenantId: 'desc' })
    }
    const asc = await f.auditor.events.list({ tenantId: 'desc', limit: 100 })
    assert.equal(asc.events.length, 7)
    const seen: string[] = []
    let page = await f.auditor.events.list({ tenantId: 'desc', order: 'desc', limit: 3 })
    seen.push(...page.events.map((e) => e.eventId))
    while (page.hasMore) {
      page = await f.auditor.events.list({
        tenantId: 'desc',
        order: 'desc',
        limit: 3,
        after: page.nextCursor!,
      })
      seen.push(...page.events.map((e) => e.eventId))
    }
    assert.deepEqual(seen, asc.events.map((e) => e.eventId).reverse())
    // past the oldest: empty, cursor kept
    const end = await f.auditor.events.list({ tenantId: 'desc', order: 'desc', after: page.nextCursor! })
    assert.deepEqual(end.events, [])
    assert.equal(end.hasMore, false)
    assert.equal(end.nextCursor, page.nextCursor)
    // filters
    const one = await f.auditor.events.list({
      tenantId: 'desc',
      table: 'posts',
      recordId: ids[0]!,
      order: 'desc',
    })
    assert.deepEqual(
      one.events.map((e) => e.newValues?.title),
      ['t6', 't4', 't2', 't0'],
    )
    const updates = await f.auditor.events.list({
      tenantId: 'desc',
      action: 'update',
      order: 'desc',
      limit: 2,
    })
    assert.deepEqual(
      updates.events.map((e) => e.newValues?.title),
      ['t6', 't5'],
    )
  })

  it('rejects an unknown order', async () => {
    await assert.rejects(
      f.auditor.events.list({ order: 'sideways' as 'asc' }),
      (e: { code?: string; details?: { field?: string } }) =>
        e.code === 'validation' && e.details?.field === 'order',
    )
  })
})
