/**
 * Issue 7 S2 / R6 / R7 / R12: restore and every other write of a CMS resource apply the same
 * domain rules (unique values, validation against the current content type, who may manage
 * whom, sessions revoked by a role change), on every dialect.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import type { ChangeEvent } from '../packages/audited/src/audit/change-event.js'
import { ADMIN, apiToken, forEachHttpDialect, type HttpFixture } from './http-setup.js'

async function count(f: HttpFixture, table: string): Promise<number> {
  const row = await f.db.readKysely
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function history(f: HttpFixture, table: string, id: string): Promise<ChangeEvent[]> {
  const res = await f.call('GET', `/api/v1/audit/history/${table}/${id}`)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body.items as ChangeEvent[]
}

const restore = (f: HttpFixture, table: string, id: string, body: unknown, token?: string) =>
  f.call('POST', `/api/v1/audit/restore/${table}/${id}`, { body, ...(token === undefined ? {} : { token }) })

forEachHttpDialect('S2 restore goes through the domain rules', (f) => {
  before(async () => {
    const made = await f.call('POST', '/api/v1/content-types', {
      body: {
        key: 'post',
        name: 'Post',
        fields: [
          { name: 'title', type: 'string', required: true },
          { name: 'slug', type: 'string', unique: true },
        ],
      },
    })
    assert.equal(made.status, 201, JSON.stringify(made.body))
  })

  it('S2: a restored slug held by another entry is 409, nothing changes, and no stale unique row is left', async () => {
    const a = (await f.call('POST', '/api/v1/entries/post', { body: { data: { title: 'A', slug: 'one' } } }))
      .body
    const moved = await f.call('PATCH', `/api/v1/entries/post/${a.id}`, { body: { data: { slug: 'two' } } })
    assert.equal(moved.status, 200)
    const b = await f.call('POST', '/api/v1/entries/post', { body: { data: { title: 'B', slug: 'one' } } })
    assert.equal(b.status, 201)
    const [createdA] = await history(f, 'entries', a.id)
    const events = await count(f, 'change_events')
    const clash = await restore(f, 'entries', a.id, { eventId: createdA!.eventId })
    assert.equal(clash.status, 409, JSON.stringify(clash.body))
    assert.equal(clash.body.error.code, 'conflict')
    assert.equal(await count(f, 'change_events'), events, 'nothing written')
    assert.equal((await f.call('GET', `/api/v1/entries/post/${a.id}`)).body.data.slug, 'two')

    // Once B moves away, the restore succeeds, frees "two" and takes "one".
    await f.call('PATCH', `/api/v1/entries/post/${b.body.id}`, { body: { data: { slug: 'three' } } })
    const ok = await restore(f, 'entries', a.id, { eventId: createdA!.eventId })
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    assert.equal(ok.body.data.slug, 'one')
    const reuse = await f.call('POST', '/api/v1/entries/post', {
      body: { data: { title: 'C', slug: 'two' } },
    })
    assert.equal(reuse.status, 201, 'the value the restore freed is free')
    const taken = await f.call('POST', '/api/v1/entries/post', {
      body: { data: { title: 'D', slug: 'one' } },
    })
    assert.equal(taken.status, 409, 'the restored value is held')
  })

  it('S2: restored data is re-validated against the current content type', async () => {
    await f.call('POST', '/api/v1/content-types', {
      body: { key: 'note', name: 'Note', fields: [{ name: 'title', type: 'string', required: true }] },
    })
    const e = (await f.call('POST', '/api/v1/entries/note', { body: { data: { title: 'x' } } })).body
    const changed = await f.call('PATCH', '/api/v1/content-types/note', {
      body: {
        fields: [
          { name: 'title', type: 'string', required: true },
          { name: 'summary', type: 'string', required: true },
        ],
      },
    })
    assert.equal(changed.status, 200)
    const patched = await f.call('PATCH', `/api/v1/entries/note/${e.id}`, {
      body: { data: { summary: 's' } },
    })
    assert.equal(patched.status, 200, JSON.stringify(patched.body))
    const [createdEvent] = await history(f, 'entries', e.id)
    const events = await count(f, 'change_events')
    const res = await restore(f, 'entries', e.id, { eventId: createdEvent!.eventId })
    assert.equal(res.status, 400, JSON.stringify(res.body))
    assert.equal(res.body.error.code, 'validation')
    assert.equal(res.body.error.details.field, 'summary')
    assert.equal(await count(f, 'change_events'), events)
  })

  it('S2: restoring an entry whose content type was deleted is a clear 409; nothing is created', async () => {
    await f.call('POST', '/api/v1/content-types', {
      body: { key: 'gone', name: 'Gone', fields: [{ name: 'title', type: 'string' }] },
    })
    const e = (await f.call('POST', '/api/v1/entries/gone', { body: { data: { title: 'x' } } })).body
    assert.equal((await f.call('DELETE', `/api/v1/entries/gone/${e.id}`)).status, 204)
    assert.equal((await f.call('DELETE', '/api/v1/content-types/gone')).status, 204)
    const [createdEvent] = await history(f, 'entries', e.id)
    const before = [await count(f, 'change_events'), await count(f, 'entries')]
    const res = await restore(f, 'entries', e.id, { eventId: createdEvent!.eventId })
    assert.equal(res.status, 409, JSON.stringify(res.body))
    assert.equal(res.body.error.code, 'conflict')
    assert.match(res.body.error.message, /content type/)
    assert.deepEqual([await count(f, 'change_events'), await count(f, 'entries')], before)
  })

  it('S2: a tenant admin cannot restore a platform account (assertMayManage)', async () => {
    const tenantAdmin = await apiToken(f, f.tenantId, 'admin')
    const users = (await f.call('GET', '/api/v1/users')).body.items as { id: string; email: string }[]
    const platform = users.find((u) => u.email === ADMIN.email)!
    const [createdEvent] = await history(f, 'users', platform.id)
    const events = await count(f, 'change_events')
    const res = await restore(f, 'users', platform.id, { eventId: createdEvent!.eventId }, tenantAdmin)
    assert.equal(res.status, 403, JSON.stringify(res.body))
    assert.equal(res.body.error.code, 'forbidden')
    assert.equal(await count(f, 'change_events'), events)
  })

  it("S2: restoring a user's old role revokes their sessions; the demoted admin cannot mint an admin token", async () => {
    const person = { email: `demoted-${f.name}@example.test`, password: 'a long enough password' }
    const made = await f.call('POST', '/api/v1/users', { body: { ...person, role: 'editor' } })
    assert.equal(made.status, 201, JSON.stringify(made.body))
    const promoted = await f.call('PATCH', `/api/v1/users/${made.body.id}`, { body: { role: 'admin' } })
    assert.equal(promoted.status, 200)
    const login = await f.call('POST', '/api/v1/auth/login', { token: null, body: person })
    assert.equal(login.status, 200, JSON.stringify(login.body))
    const session = login.body.token as string
    assert.equal((await f.call('GET', '/api/v1/users', { token: session })).status, 200, 'admin now')

    const [createdEvent] = await history(f, 'users', made.body.id)
    const res = await restore(f, 'users', made.body.id, { eventId: createdEvent!.eventId })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.role, 'editor')
    assert.equal('passwordHash' in res.body, false)

    assert.equal((await f.call('GET', '/api/v1/users', { token: session })).status, 401, 'session revoked')
    const mint = await f.call('POST', '/api/v1/tokens', {
      token: session,
      body: { name: 'keep admin', role: 'admin' },
    })
    assert.equal(mint.status, 401)
    const again = await f.call('POST', '/api/v1/auth/login', { token: null, body: person })
    assert.equal(again.status, 200, 'the password was kept (redacted in events)')
    const forbidden = await f.call('POST', '/api/v1/tokens', {
      token: again.body.token,
      body: { name: 'keep admin', role: 'admin' },
    })
    assert.equal(forbidden.status, 403)
  })

  it('R12: restore sets updatedAt to now and keeps the publish status unless asked', async () => {
    const e = (await f.call('POST', '/api/v1/entries/post', { body: { data: { title: 'v1' } } })).body
    assert.equal((await f.call('POST', `/api/v1/entries/post/${e.id}/publish`)).status, 200)
    await f.call('PATCH', `/api/v1/entries/post/${e.id}`, { body: { data: { title: 'v2' } } })
    assert.equal((await f.call('POST', `/api/v1/entries/post/${e.id}/unpublish`)).status, 200)
    const published = (await history(f, 'entries', e.id)).find((ev) => ev.action === 'publish')!

    const kept = await restore(f, 'entries', e.id, { eventId: published.eventId })
    assert.equal(kept.status, 200, JSON.stringify(kept.body))
    assert.equal(kept.body.data.title, 'v1')
    assert.equal(kept.body.status, 'draft', 'restore does not republish')
    assert.ok(Date.parse(kept.body.updatedAt) > Date.parse(String(published.newValues?.updated_at)))

    const asked = await restore(f, 'entries', e.id, { eventId: published.eventId, status: 'published' })
    assert.equal(asked.status, 200, JSON.stringify(asked.body))
    assert.equal(asked.body.status, 'published')
    const last = (await history(f, 'entries', e.id)).at(-1)!
    assert.equal(last.action, 'publish', 'consumers of publish see it')

    const bad = await restore(f, 'entries', e.id, { eventId: published.eventId, status: 'archived' })
    assert.equal(bad.status, 400)
  })

  it('R12: removing a field from a content type leaves its entries editable (stale fields dropped on the next write)', async () => {
    await f.call('POST', '/api/v1/content-types', {
      body: {
        key: 'doc',
        name: 'Doc',
        fields: [
          { name: 'title', type: 'string', required: true },
          { name: 'body', type: 'text' },
        ],
      },
    })
    const e = (await f.call('POST', '/api/v1/entries/doc', { body: { data: { title: 't', body: 'b' } } }))
      .body
    const removed = await f.call('PATCH', '/api/v1/content-types/doc', {
      body: { fields: [{ name: 'title', type: 'string', required: true }] },
    })
    assert.equal(removed.status, 200)
    const edit = await f.call('PATCH', `/api/v1/entries/doc/${e.id}`, { body: { data: { title: 't2' } } })
    assert.equal(edit.status, 200, JSON.stringify(edit.body))
    assert.deepEqual(edit.body.data, { title: 't2' })
    const unknown = await f.call('PATCH', `/api/v1/entries/doc/${e.id}`, { body: { data: { body: 'x' } } })
    assert.equal(unknown.status, 400, 'a removed field cannot be written')
  })

  it('R6: PATCH with {} or the current data answers 200 and writes nothing', async () => {
    const e = (await f.call('POST', '/api/v1/entries/post', { body: { data: { title: 'same' } } })).body
    const events = await count(f, 'change_events')
    for (const body of [{}, { data: {} }, { data: { title: 'same' } }, { locale: 'en' }, { version: 1 }]) {
      const res = await f.call('PATCH', `/api/v1/entries/post/${e.id}`, { body })
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.equal(res.body.version, 1, JSON.stringify(body))
      assert.equal(res.body.data.title, 'same')
    }
    assert.equal(await count(f, 'change_events'), events, 'no event')
    const stale = await f.call('PATCH', `/api/v1/entries/post/${e.id}`, { body: { version: 7 } })
    assert.equal(stale.status, 409, 'a stale version is still a conflict')
  })
})

forEachHttpDialect('S2 restore rules of the other resources', (f) => {
  it('S2: a content type cannot be restored to a unique field while it has entries; a deleted entry comes back as a draft with its unique values', async () => {
    const made = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'tag', name: 'Tag', fields: [{ name: 'label', type: 'string', unique: true }] },
    })
    assert.equal(made.status, 201)
    const relaxed = await f.call('PATCH', '/api/v1/content-types/tag', {
      body: { fields: [{ name: 'label', type: 'string' }] },
    })
    assert.equal(relaxed.status, 200)
    const entry = await f.call('POST', '/api/v1/entries/tag', { body: { data: { label: 'x' } } })
    assert.equal(entry.status, 201)
    const [typeCreated] = await history(f, 'content_types', made.body.id)
    const events = await count(f, 'change_events')
    const res = await restore(f, 'content_types', made.body.id, { eventId: typeCreated!.eventId })
    assert.equal(res.status, 409, JSON.stringify(res.body))
    assert.equal(await count(f, 'change_events'), events)

    // The type's fields made unique again cannot be, so use a fresh unique type for the entry.
    await f.call('POST', '/api/v1/content-types', {
      body: { key: 'badge', name: 'Badge', fields: [{ name: 'label', type: 'string', unique: true }] },
    })
    const b = (await f.call('POST', '/api/v1/entries/badge', { body: { data: { label: 'gold' } } })).body
    await f.call('POST', `/api/v1/entries/badge/${b.id}/publish`)
    assert.equal((await f.call('DELETE', `/api/v1/entries/badge/${b.id}`)).status, 204)
    const published = (await history(f, 'entries', b.id)).find((ev) => ev.action === 'publish')!
    const back = await restore(f, 'entries', b.id, { eventId: published.eventId })
    assert.equal(back.status, 200, JSON.stringify(back.body))
    assert.equal(back.body.status, 'draft')
    const dup = await f.call('POST', '/api/v1/entries/badge', { body: { data: { label: 'gold' } } })
    assert.equal(dup.status, 409, 'the re-created entry holds its unique value again')
  })

  it('S2: tokens are never restored; "status" is for entries only; nobody restores their own role', async () => {
    const tokens = (await f.call('GET', '/api/v1/tokens?kind=session')).body.items as { id: string }[]
    const session = tokens[0]!
    const [created] = await history(f, 'tokens', session.id)
    const res = await restore(f, 'tokens', session.id, { eventId: created!.eventId })
    assert.equal(res.status, 400, JSON.stringify(res.body))
    assert.equal(res.body.error.code, 'validation')

    const users = (await f.call('GET', '/api/v1/users')).body.items as { id: string; email: string }[]
    const me = users.find((u) => u.email === ADMIN.email)!
    const [meCreated] = await history(f, 'users', me.id)
    const withStatus = await restore(f, 'users', me.id, { eventId: meCreated!.eventId, status: 'published' })
    assert.equal(withStatus.status, 400)

    const other = { email: `self-${f.name}@example.test`, password: 'a long enough password' }
    const made = (await f.call('POST', '/api/v1/users', { body: { ...other, role: 'editor' } })).body
    await f.call('PATCH', `/api/v1/users/${made.id}`, { body: { role: 'admin' } })
    const login = (await f.call('POST', '/api/v1/auth/login', { token: null, body: other })).body
    const [madeEvent] = await history(f, 'users', made.id)
    const self = await restore(f, 'users', made.id, { eventId: madeEvent!.eventId }, login.token)
    assert.equal(self.status, 409, JSON.stringify(self.body))
    assert.equal((await f.call('GET', `/api/v1/users/${made.id}`)).body.role, 'admin')
  })
})

forEachHttpDialect('R7 tenants across tenants', (f) => {
  it("R7: a platform admin reads the history of and restores another tenant's tenant record", async () => {
    const made = await f.call('POST', '/api/v1/tenants', { body: { name: `other-${f.name}` } })
    assert.equal(made.status, 201, JSON.stringify(made.body))
    const id = made.body.tenant.id as string
    const limited = await f.call('PATCH', `/api/v1/tenants/${id}`, { body: { limits: { maxEntries: 5 } } })
    assert.equal(limited.status, 200)
    const events = await history(f, 'tenants', id)
    assert.equal(events.length, 2)
    const res = await restore(f, 'tenants', id, { eventId: events[0]!.eventId })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.limits, null)
    const again = await restore(f, 'tenants', id, { eventId: events[0]!.eventId })
    assert.equal(again.status, 200)
    assert.equal((await history(f, 'tenants', id)).length, 3, 'a restore that changes nothing writes nothing')
    const state = await f.call('GET', `/api/v1/audit/state/tenants/${id}?at=${events[0]!.hlc}`)
    assert.equal(state.status, 200, JSON.stringify(state.body))
    // A tenant admin of the other tenant still cannot see the default tenant's record.
    const theirs = await apiToken(f, id, 'admin')
    const hidden = await f.call('GET', `/api/v1/audit/history/tenants/${f.tenantId}`, { token: theirs })
    assert.equal(hidden.status, 404)
  })
})
