import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type ChangeEvent, isAuditedError, REDACTED } from '../packages/audited/src/index.js'
import { counters, ctx, eventCount, forEachDialect, newId, type Post, posts, rowsOf } from './setup.js'

const code = (c: string) => (e: unknown) => isAuditedError(e) && e.code === c

forEachDialect('engine', (f) => {
  it('create returns the stored row with defaults and records one INSERT event', async () => {
    const id = newId()
    const row = await f.auditor.create(posts, { id, title: 'Hello', tags: ['a', 'b'], secret: 's3cret' }, ctx)
    assert.equal(row.id, id)
    assert.equal(row.status, 'draft')
    assert.equal(row.views, 0)
    assert.equal(row.version, 1)
    assert.equal(row.tenant_id, 'acme')
    assert.deepEqual(row.tags, ['a', 'b'])
    const [event] = (await f.auditor.events.history(posts, id)).events
    assert.ok(event)
    assert.equal(event.operation, 'INSERT')
    assert.equal(event.action, 'create')
    assert.equal(event.table, 'posts')
    assert.equal(event.recordId, id)
    assert.equal(event.tenantId, 'acme')
    assert.equal(event.actorId, 'user-1')
    assert.equal(event.actorType, 'user')
    assert.equal(event.requestId, 'req-1')
    assert.equal(event.ip, '203.0.113.7')
    assert.equal(event.userAgent, 'test-agent')
    assert.equal(event.oldValues, null)
    assert.equal(event.newValues?.title, 'Hello')
    assert.equal(event.newValues?.secret, REDACTED)
    assert.match(event.hlc, /^\d+$/)
    assert.ok(BigInt(event.hlc) > 2n ** 53n)
    assert.ok(event.changedFields.includes('title') && event.changedFields.includes('secret'))
  })

  it('update reads the before-state, bumps the version and records both states', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: 'v1', views: 1 }, ctx)
    const after = await f.auditor.update(posts, id, { title: 'v2', views: 2 }, ctx, { expectedVersion: 1 })
    assert.equal(after.version, 2)
    assert.equal(after.title, 'v2')
    const history = (await f.auditor.events.history(posts, id)).events
    assert.equal(history.length, 2)
    const ev = history[1]!
    assert.equal(ev.operation, 'UPDATE')
    assert.equal(ev.oldValues?.title, 'v1')
    assert.equal(ev.newValues?.title, 'v2')
    assert.deepEqual(ev.changedFields, ['title', 'version', 'views'])
    assert.equal(ev.txId === history[0]!.txId, false)
  })

  it('a stale expectedVersion is a conflict and changes nothing', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: 'stale' }, ctx)
    await f.auditor.update(posts, id, { title: 'stale-2' }, ctx)
    const before = await eventCount(f.db)
    await assert.rejects(
      f.auditor.update(posts, id, { title: 'x' }, ctx, { expectedVersion: 1 }),
      (e: unknown) => {
        assert.ok(code('conflict')(e))
        assert.deepEqual((e as { details?: unknown }).details, {
          reason: 'version',
          expectedVersion: 1,
          currentVersion: 2,
        })
        return true
      },
    )
    await assert.rejects(f.auditor.delete(posts, id, ctx, { expectedVersion: 1 }), code('conflict'))
    assert.equal(await eventCount(f.db), before)
    const row = (await rowsOf(f.db, 'posts')).find((r) => r.id === id)
    assert.equal(row?.title, 'stale-2')
  })

  it('delete returns the row before and records it', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: 'to delete' }, ctx)
    const gone = await f.auditor.delete(posts, id, ctx)
    assert.equal(gone.title, 'to delete')
    const history = (await f.auditor.events.history(posts, id)).events
    assert.equal(history.at(-1)?.operation, 'DELETE')
    assert.equal(history.at(-1)?.newValues, null)
    assert.equal(history.at(-1)?.oldValues?.title, 'to delete')
    assert.equal(
      (await rowsOf(f.db, 'posts')).some((r) => r.id === id),
      false,
    )
    await assert.rejects(f.auditor.delete(posts, id, ctx), code('not_found'))
  })

  it('publish and unpublish are recorded as their own actions', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: 'pub' }, ctx)
    await f.auditor.update(posts, id, { status: 'published' }, ctx)
    await f.auditor.update(posts, id, { status: 'archived' }, ctx)
    await f.auditor.update(posts, id, { title: 'pub 2' }, ctx)
    const actions = (await f.auditor.events.history(posts, id)).events.map((e) => e.action)
    assert.deepEqual(actions, ['create', 'publish', 'unpublish', 'update'])
  })

  it('another tenant cannot see, update, delete or restore a record', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: 'mine' }, ctx)
    const other = { ...ctx, tenantId: 'globex' }
    await assert.rejects(f.auditor.update(posts, id, { title: 'theirs' }, other), code('not_found'))
    await assert.rejects(f.auditor.delete(posts, id, other), code('not_found'))
    const [created] = (await f.auditor.events.history(posts, id)).events
    await assert.rejects(f.auditor.restore(posts, id, created!.eventId, other), code('not_found'))
    assert.equal((await f.auditor.events.history(posts, id, { tenantId: 'globex' })).events.length, 0)
    await assert.rejects(
      f.auditor.create(posts, { id: newId(), title: 'smuggled', tenant_id: 'acme' }, other),
      code('validation'),
    )
  })

  it('bad input is a validation error and writes nothing', async () => {
    const before = await eventCount(f.db)
    const id = newId()
    await assert.rejects(
      f.auditor.create(posts, { id, title: 't', nope: 1 } as Partial<Post>, ctx),
      code('validation'),
    )
    await assert.rejects(f.auditor.create(posts, { id, title: 't', version: 7 }, ctx), code('validation'))
    // An empty patch is a no-op (issue 7 R6), not bad input: here the record does not exist.
    await assert.rejects(f.auditor.update(posts, id, {}, ctx), code('not_found'))
    await assert.rejects(f.auditor.update(posts, '', { title: 'x' }, ctx), code('validation'))
    await assert.rejects(
      f.auditor.update(posts, id, { title: 'x' }, ctx, { expectedVersion: -1 }),
      code('validation'),
    )
    await assert.rejects(
      f.auditor.create(posts, { id, title: 't' }, { ...ctx, actorType: 'robot' as 'user' }),
      code('validation'),
    )
    await assert.rejects(
      f.auditor.create(posts, { id, title: 't' }, { ...ctx, tenantId: null }),
      code('validation'),
    )
    await assert.rejects(f.auditor.create(posts, { id } as Partial<Post>, ctx), code('validation')) // title NOT NULL
    assert.equal(await eventCount(f.db), before)
  })

  it('a duplicate unique value is a conflict', async () => {
    await f.auditor.create(posts, { id: newId(), title: 'unique title' }, ctx)
    await assert.rejects(
      f.auditor.create(posts, { id: newId(), title: 'unique title' }, ctx),
      code('conflict'),
    )
  })

  it('generated keys are read back (auto-increment)', async () => {
    const a = await f.auditor.create(counters, { name: 'a' }, { ...ctx, tenantId: null })
    const b = await f.auditor.create(counters, { name: 'b' }, { ...ctx, tenantId: null })
    assert.equal(typeof a.id, 'number')
    assert.ok(b.id > a.id)
    const [ev] = (await f.auditor.events.history(counters, a.id)).events
    assert.equal(ev?.recordId, String(a.id))
    assert.equal(ev?.tenantId, null)
  })

  it('transaction commits every write and event together, sharing a txId', async () => {
    const a = newId()
    const b = newId()
    const result = await f.auditor.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: a, title: `tx a ${a}` })
      await tx.create(posts, { id: b, title: `tx b ${b}` })
      await tx.update(posts, a, { views: 5 })
      return 'done'
    })
    assert.equal(result, 'done')
    const events = [
      ...(await f.auditor.events.history(posts, a)).events,
      ...(await f.auditor.events.history(posts, b)).events,
    ]
    assert.equal(events.length, 3)
    assert.equal(new Set(events.map((e) => e.txId)).size, 1)
  })

  it('a transaction that throws leaves neither rows nor events', async () => {
    const a = newId()
    const before = await eventCount(f.db)
    await assert.rejects(
      f.auditor.transaction(ctx, async (tx) => {
        await tx.create(posts, { id: a, title: `rolled back ${a}` })
        throw new Error('boom')
      }),
      /boom/,
    )
    assert.equal(await eventCount(f.db), before)
    assert.equal(
      (await rowsOf(f.db, 'posts')).some((r) => r.id === a),
      false,
    )
  })

  it('createMany writes every row in one transaction with one event per row', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => ({
      id: newId(),
      title: `many ${i} ${newId()}`,
      views: i,
    }))
    const stored = await f.auditor.createMany(posts, rows, ctx)
    assert.equal(stored.length, 250)
    assert.deepEqual(
      stored.map((r) => r.id),
      rows.map((r) => r.id),
    )
    const events = await Promise.all(stored.slice(0, 3).map((r) => f.auditor.events.history(posts, r.id)))
    assert.equal(new Set(events.map((e) => e.events[0]!.txId)).size, 1)
    const generated = await f.auditor.createMany(counters, [{ name: 'x' }, { name: 'y' }, { name: 'z' }], {
      ...ctx,
      tenantId: null,
    })
    assert.deepEqual(
      generated.map((r) => r.name),
      ['x', 'y', 'z'],
    )
    assert.equal(new Set(generated.map((r) => r.id)).size, 3)
    // one bad row rolls back the whole batch
    const count = await eventCount(f.db)
    await assert.rejects(
      f.auditor.createMany(
        posts,
        [{ id: newId(), title: `ok ${newId()}` }, { id: newId() } as Partial<Post>],
        ctx,
      ),
      code('validation'),
    )
    assert.equal(await eventCount(f.db), count)
  })

  it('restore puts back the state after an event, re-creating a deleted record', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: `restore me ${id}`, views: 1, secret: 'keep' }, ctx)
    await f.auditor.update(posts, id, { views: 2 }, ctx)
    await f.auditor.update(posts, id, { views: 3, title: `changed ${id}` }, ctx)
    const history = (await f.auditor.events.history(posts, id)).events
    const restored = await f.auditor.restore(posts, id, history[1]!.eventId, ctx)
    assert.equal(restored.views, 2)
    assert.equal(restored.title, `restore me ${id}`)
    assert.equal(restored.secret, 'keep') // redacted values are kept, not overwritten with the mask
    assert.equal(restored.version, 4)
    await f.auditor.delete(posts, id, ctx)
    const again = await f.auditor.restore(posts, id, history[0]!.eventId, ctx)
    assert.equal(again.views, 1)
    assert.equal(again.version, 5)
    const actions = (await f.auditor.events.history(posts, id)).events.map((e) => [e.operation, e.action])
    assert.deepEqual(actions.slice(-3), [
      ['UPDATE', 'restore'],
      ['DELETE', 'delete'],
      ['INSERT', 'restore'],
    ])
    const deleteEvent = (await f.auditor.events.history(posts, id)).events.at(-2)!
    await assert.rejects(f.auditor.restore(posts, id, deleteEvent.eventId, ctx), code('validation'))
  })

  it('stateAt answers what a record looked like at an HLC or a date', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: `at ${id}`, views: 1 }, ctx)
    await f.auditor.update(posts, id, { views: 2 }, ctx)
    const history: ChangeEvent[] = (await f.auditor.events.history(posts, id)).events
    assert.equal((await f.auditor.events.stateAt(posts, id, history[0]!.hlc))?.views, 1)
    assert.equal((await f.auditor.events.stateAt(posts, id, BigInt(history[1]!.hlc)))?.views, 2)
    assert.equal(await f.auditor.events.stateAt(posts, id, new Date(0)), null)
    await f.auditor.delete(posts, id, ctx)
    assert.equal(await f.auditor.events.stateAt(posts, id, new Date(Date.now() + 1000)), null)
  })
})
