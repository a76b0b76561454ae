/**
 * A write that brings back a past state is recorded as a `restore` (issue 7 S2 follow-up):
 * the engine's `action: 'restore'` write option, and every CMS restore path using it, so a
 * timeline shows a restore as its own event whichever resource was restored.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { ChangeEvent } from '../packages/audited/src/audit/change-event.js'
import { isAuditedError } from '../packages/audited/src/index.js'
import { forEachHttpDialect, type HttpFixture } from './http-setup.js'
import { ctx, eventCount, forEachDialect, newId, posts } from './setup.js'

const code = (c: string) => (e: unknown) => isAuditedError(e) && e.code === c

forEachDialect('engine write option action: restore', (f) => {
  it('an update or create with action "restore" records a restore; a status change still records publish', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: 'v1' }, ctx)
    await f.auditor.update(posts, id, { title: 'v2' }, ctx)
    await f.auditor.update(posts, id, { title: 'v1' }, ctx, { action: 'restore' })
    await f.auditor.update(posts, id, { title: 'v3', status: 'published' }, ctx, { action: 'restore' })
    const other = newId()
    await f.auditor.create(posts, { id: other, title: 'back' }, ctx, { action: 'restore' })
    const actions = (await f.auditor.events.history(posts, id)).events.map((e) => e.action)
    assert.deepEqual(actions, ['create', 'update', 'restore', 'publish'])
    const [created] = (await f.auditor.events.history(posts, other)).events
    assert.equal(created?.operation, 'INSERT')
    assert.equal(created?.action, 'restore')
    const inTx = newId()
    await f.auditor.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: inTx, title: 'a' }, { action: 'restore' })
      await tx.update(posts, inTx, { title: 'b' }, { action: 'restore' })
    })
    const txActions = (await f.auditor.events.history(posts, inTx)).events.map((e) => e.action)
    assert.deepEqual(txActions, ['restore', 'restore'])
  })

  it('any other action is a validation error and writes nothing', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: 'x' }, ctx)
    const before = await eventCount(f.db)
    for (const action of ['delete', 'publish', 'create', '', 42]) {
      await assert.rejects(
        f.auditor.update(posts, id, { title: 'y' }, ctx, { action } as never),
        code('validation'),
        String(action),
      )
      await assert.rejects(
        f.auditor.create(posts, { id: newId(), title: 'y' }, ctx, { action } as never),
        code('validation'),
        String(action),
      )
    }
    assert.equal(await eventCount(f.db), before)
  })
})

async function history(f: HttpFixture, table: string, id: string): Promise<ChangeEvent[]> {
  const res = await f.call('GET', `/api/v1/audit/history/${table}/${id}`)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body.items as ChangeEvent[]
}

async function restoreLast(f: HttpFixture, table: string, id: string, index: number): Promise<ChangeEvent> {
  const from = (await history(f, table, id))[index]!
  const res = await f.call('POST', `/api/v1/audit/restore/${table}/${id}`, {
    body: { eventId: from.eventId },
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  const last = (await history(f, table, id)).at(-1)!
  assert.equal(last.metadata?.restoredFrom, from.eventId)
  return last
}

forEachHttpDialect('CMS restores are recorded as restore events', (f) => {
  it('entries (updated and re-created), content types, users and tenants', async () => {
    const type = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'note', name: 'Note', fields: [{ name: 'title', type: 'string' }] },
    })
    assert.equal(type.status, 201)
    const e = (await f.call('POST', '/api/v1/entries/note', { body: { data: { title: 'one' } } })).body
    await f.call('PATCH', `/api/v1/entries/note/${e.id}`, { body: { data: { title: 'two' } } })
    const updated = await restoreLast(f, 'entries', e.id, 0)
    assert.equal(updated.operation, 'UPDATE')
    assert.equal(updated.action, 'restore')

    assert.equal((await f.call('DELETE', `/api/v1/entries/note/${e.id}`)).status, 204)
    const recreated = await restoreLast(f, 'entries', e.id, 0)
    assert.equal(recreated.operation, 'INSERT')
    assert.equal(recreated.action, 'restore')

    await f.call('PATCH', '/api/v1/content-types/note', { body: { name: 'Notes' } })
    const typeRestored = await restoreLast(f, 'content_types', type.body.id, 0)
    assert.equal(typeRestored.action, 'restore')

    const user = await f.call('POST', '/api/v1/users', {
      body: { email: `r-${newId()}@example.com`, password: 'a long enough password', role: 'editor' },
    })
    assert.equal(user.status, 201, JSON.stringify(user.body))
    await f.call('PATCH', `/api/v1/users/${user.body.id}`, { body: { role: 'viewer' } })
    const userRestored = await restoreLast(f, 'users', user.body.id, 0)
    assert.equal(userRestored.action, 'restore')

    const tenant = await f.call('POST', '/api/v1/tenants', { body: { name: `restore-${newId()}` } })
    assert.equal(tenant.status, 201, JSON.stringify(tenant.body))
    const tenantId = tenant.body.tenant.id as string
    await f.call('PATCH', `/api/v1/tenants/${tenantId}`, { body: { limits: { maxEntries: 5 } } })
    const tenantRestored = await restoreLast(f, 'tenants', tenantId, 0)
    assert.equal(tenantRestored.action, 'restore')
  })
})
