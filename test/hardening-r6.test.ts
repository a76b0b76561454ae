/**
 * R6 (issue 7, engine part): an update that changes no field writes nothing — no event, no
 * version bump — and returns the current row; a real change still writes as before.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { isAuditedError } from '../packages/audited/src/index.js'
import { counters, ctx, eventCount, forEachDialect, newId, type Post, posts, rowsOf } from './setup.js'

forEachDialect('R6: a no-op update writes nothing', (f) => {
  it('R6: update with {} or with the current values returns the row without an event or a version bump', async () => {
    const id = newId()
    const created = await f.auditor.create(
      posts,
      {
        id,
        title: 'Same',
        body: null,
        tags: { b: [1, { c: true }], a: 'x' },
        flag: true,
        published_at: new Date('2024-01-01T10:00:00.000Z'),
        secret: 'hidden',
      },
      ctx,
    )
    const events = await eventCount(f.db)
    const noops: Partial<Post>[] = [
      {},
      { title: 'Same' },
      { title: 'Same', body: null },
      { tags: { a: 'x', b: [1, { c: true }] } }, // other key order, same JSON
      { flag: true },
      { published_at: new Date('2024-01-01T10:00:00.000Z') },
      { published_at: '2024-01-01T10:00:00.000Z' as unknown as Date }, // the engine accepts ISO text
      { secret: 'hidden' },
      { views: 0, status: 'draft' },
    ]
    for (const patch of noops) {
      const row = await f.auditor.update(posts, id, patch, ctx)
      assert.deepEqual(row, created, JSON.stringify(patch))
      const inTx = await f.auditor.transaction(ctx, (tx) =>
        tx.update(posts, id, patch, { expectedVersion: 1 }),
      )
      assert.deepEqual(inTx, created, JSON.stringify(patch))
    }
    assert.equal(await eventCount(f.db), events, 'no event was written')
    assert.equal((await rowsOf(f.db, 'posts')).find((r) => r.id === id)?.version, 1)
    assert.equal((await f.auditor.events.history(posts, id, { tenantId: 'acme' })).events.length, 1)

    // A stale expected version is still a conflict, even when nothing would change.
    await assert.rejects(
      () => f.auditor.update(posts, id, { title: 'Same' }, ctx, { expectedVersion: 5 }),
      (e) => isAuditedError(e) && e.code === 'conflict',
    )
    // Another tenant's record stays not found.
    await assert.rejects(
      () => f.auditor.update(posts, id, {}, { ...ctx, tenantId: 'evil' }),
      (e) => isAuditedError(e) && e.code === 'not_found',
    )
    // A real change writes one event and bumps the version.
    const changed = await f.auditor.update(posts, id, { title: 'Other', flag: true }, ctx)
    assert.equal(changed.version, 2)
    const history = (await f.auditor.events.history(posts, id, { tenantId: 'acme' })).events
    assert.equal(history.length, 2)
    assert.deepEqual(history[1]!.changedFields, ['title', 'version'])
  })

  it('R6: a no-op update of an entity without a version column', async () => {
    const made = await f.auditor.create(counters, { name: 'c-r6', n: 3 }, ctx)
    const before = await eventCount(f.db)
    assert.deepEqual(await f.auditor.update(counters, made.id, { n: 3 }, ctx), made)
    assert.deepEqual(await f.auditor.update(counters, made.id, {}, ctx), made)
    assert.equal(await eventCount(f.db), before)
    const next = await f.auditor.update(counters, made.id, { n: 4 }, ctx)
    assert.equal(next.n, 4)
    assert.equal(await eventCount(f.db), before + 1)
  })
})
