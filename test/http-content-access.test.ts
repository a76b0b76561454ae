/** Content API: roles and tenant isolation. */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { entries, tenants } from '../packages/cms/src/cms/entities.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { ARTICLE, contentSetup, counts } from './http-content-support.js'
import { apiToken, forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http content access', (f) => {
  let viewer: string, editor: string, auditorRole: string

  before(async () => {
    ;({ viewer, editor, auditorRole } = await contentSetup(f))
  })

  it('roles: viewers read, editors write entries, only admins write types, auditors read nothing', async () => {
    const entry = await f.call('POST', '/api/v1/entries/article', { body: { data: { title: 'for roles' } } })
    const url = `/api/v1/entries/article/${entry.body.id}`
    for (const path of [
      '/api/v1/content-types',
      '/api/v1/content-types/article',
      '/api/v1/entries/article',
      url,
    ]) {
      assert.equal((await f.call('GET', path, { token: viewer })).status, 200, path)
      assert.equal((await f.call('GET', path, { token: editor })).status, 200, path)
      const denied = await f.call('GET', path, { token: auditorRole })
      assert.equal(denied.status, 403, path)
      assert.equal(denied.body.error.code, 'forbidden')
      assert.equal((await f.call('GET', path, { token: null })).status, 401, path)
    }
    const before = await counts(f)
    const writes: ['POST' | 'PATCH' | 'DELETE', string, unknown][] = [
      ['POST', '/api/v1/content-types', { key: 'viewer_type', name: 'x', fields: [] }],
      ['PATCH', '/api/v1/content-types/article', { name: 'renamed' }],
      ['DELETE', '/api/v1/content-types/article', undefined],
      ['POST', '/api/v1/entries/article', { data: { title: 'x' } }],
      ['PATCH', url, { data: { title: 'x' } }],
      ['POST', `${url}/publish`, undefined],
      ['POST', `${url}/unpublish`, undefined],
      ['DELETE', url, undefined],
    ]
    for (const [method, path, body] of writes) {
      const res = await f.call(method, path, { token: viewer, body })
      assert.equal(res.status, 403, `${method} ${path}`)
    }
    for (const [method, path, body] of writes.slice(0, 3)) {
      assert.equal(
        (await f.call(method, path, { token: editor, body })).status,
        403,
        `editor ${method} ${path}`,
      )
    }
    assert.deepEqual(await counts(f), before)

    const byEditor = await f.call('POST', '/api/v1/entries/article', {
      token: editor,
      body: { data: { title: 'ed' } },
    })
    assert.equal(byEditor.status, 201)
    const edUrl = `/api/v1/entries/article/${byEditor.body.id}`
    assert.equal((await f.call('POST', `${edUrl}/publish`, { token: editor })).status, 200)
    assert.equal((await f.call('DELETE', edUrl, { token: editor })).status, 204)
    const [created] = (await f.auditor.events.history(entries, byEditor.body.id, { tenantId: f.tenantId }))
      .events
    assert.equal(created?.actorType, 'api_token')
  })

  it('tenant isolation: another tenant sees none of these types or entries and writes its own', async () => {
    const otherTenant = newRecordId()
    const now = new Date()
    await f.auditor.create(
      tenants,
      { id: otherTenant, name: `other-${otherTenant}`, limits: null, created_at: now, updated_at: now },
      { tenantId: otherTenant, actorId: 'test-setup', actorType: 'system' },
    )
    const other = await apiToken(f, otherTenant, 'admin')
    const mine = await f.call('POST', '/api/v1/entries/article', {
      body: { data: { title: 'mine', slug: 'iso' } },
    })
    assert.equal(mine.status, 201)
    const url = `/api/v1/entries/article/${mine.body.id}`
    const before = await counts(f)
    assert.equal((await f.call('GET', '/api/v1/content-types/article', { token: other })).status, 404)
    assert.equal((await f.call('GET', '/api/v1/entries/article', { token: other })).status, 404)
    assert.equal((await f.call('GET', url, { token: other })).status, 404)
    assert.equal((await f.call('PATCH', url, { token: other, body: { data: { title: 'x' } } })).status, 404)
    assert.equal((await f.call('POST', `${url}/publish`, { token: other })).status, 404)
    assert.equal((await f.call('DELETE', url, { token: other })).status, 404)
    assert.equal((await f.call('DELETE', '/api/v1/content-types/article', { token: other })).status, 404)
    const list = await f.call('GET', '/api/v1/content-types', { token: other })
    assert.deepEqual(list.body, { items: [], nextCursor: null, hasMore: false })
    assert.deepEqual(await counts(f), before)

    // The same key, the same unique value and a reference check, all within its own tenant.
    const own = await f.call('POST', '/api/v1/content-types', { token: other, body: ARTICLE })
    assert.equal(own.status, 201)
    const theirs = await f.call('POST', '/api/v1/entries/article', {
      token: other,
      body: { data: { title: 'theirs', slug: 'iso' } },
    })
    assert.equal(theirs.status, 201, 'unique values are per tenant')
    const crossRef = await f.call('POST', '/api/v1/entries/article', {
      token: other,
      body: { data: { title: 'x', related: mine.body.id } },
    })
    assert.equal(crossRef.status, 400, 'a reference to another tenant is no entry')
    assert.equal((await f.call('GET', `/api/v1/entries/article/${theirs.body.id}`)).status, 404)
    const stored = await f.db.readKysely
      .selectFrom('entries')
      .select('tenant_id')
      .where('id', '=', theirs.body.id)
      .executeTakeFirstOrThrow()
    assert.equal(stored.tenant_id, otherTenant)
  })
})
