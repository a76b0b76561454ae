/** Admin API: tenant creation and limits. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { assertNoSecrets, newTenant, platformAdminId, unique } from './http-admin-support.js'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http admin tenants', (f) => {
  it('a platform admin creates a tenant with a working admin token, in one audited transaction', async () => {
    const name = unique('acme')
    const res = await f.call('POST', '/api/v1/tenants', { body: { name } })
    assert.equal(res.status, 201)
    assert.equal(res.body.tenant.name, name)
    assert.equal(res.body.tenant.limits, null)
    assert.equal(res.body.tenant.version, 1)
    assert.match(res.body.adminToken, /^aud_/)
    const tenantId = res.body.tenant.id

    const usersOfNew = await f.call('GET', '/api/v1/users', { token: res.body.adminToken })
    assert.equal(usersOfNew.status, 200)
    assert.deepEqual(usersOfNew.body, { items: [], nextCursor: null, hasMore: false })
    const tokensOfNew = await f.call('GET', '/api/v1/tokens', { token: res.body.adminToken })
    assert.equal(tokensOfNew.body.items.length, 1)
    assert.equal(tokensOfNew.body.items[0].name, 'initial admin token')
    assert.equal(tokensOfNew.body.items[0].kind, 'api')
    assert.equal(tokensOfNew.body.items[0].role, 'admin')
    assertNoSecrets(tokensOfNew.body)
    const own = await f.call('GET', `/api/v1/tenants/${tenantId}`, { token: res.body.adminToken })
    assert.equal(own.status, 200)
    assert.equal(own.body.name, name)

    // Both events are on the new tenant's timeline, one transaction, by the platform admin.
    const page = await f.auditor.events.list({ tenantId, limit: 100 })
    assert.deepEqual(page.events.map((e) => e.table).sort(), ['tenants', 'tokens'])
    assert.equal(new Set(page.events.map((e) => e.txId)).size, 1)
    const adminId = await platformAdminId(f)
    for (const e of page.events) {
      assert.equal(e.actorId, adminId)
      assert.equal(e.actorType, 'user')
    }
    assert.equal(page.events.find((e) => e.table === 'tokens')?.newValues?.token_hash, '[redacted]')

    const again = await f.call('POST', '/api/v1/tenants', { body: { name } })
    assert.equal(again.status, 409)
    assert.equal(again.body.error.code, 'conflict')
  })

  it('only platform admins create and limit tenants; a tenant admin sees only its own tenant', async () => {
    const t = await newTenant(f)
    const create = await f.call('POST', '/api/v1/tenants', {
      token: t.adminToken,
      body: { name: unique('x') },
    })
    assert.equal(create.status, 403)
    assert.equal(create.body.error.code, 'forbidden')
    const patch = await f.call('PATCH', `/api/v1/tenants/${t.id}`, {
      token: t.adminToken,
      body: { limits: { burst: 5 } },
    })
    assert.equal(patch.status, 403)
    const other = await f.call('GET', `/api/v1/tenants/${f.tenantId}`, { token: t.adminToken })
    assert.equal(other.status, 404)
    const platform = await f.call('GET', `/api/v1/tenants/${t.id}`)
    assert.equal(platform.status, 200)
    const anonymous = await f.call('POST', '/api/v1/tenants', { token: null, body: { name: unique('x') } })
    assert.equal(anonymous.status, 401)
  })

  it('PATCH limits merges valid limits and rejects bad ones with 400', async () => {
    const t = await newTenant(f)
    const url = `/api/v1/tenants/${t.id}`
    const first = await f.call('PATCH', url, { body: { limits: { writesPerSecond: 50, burst: 100 } } })
    assert.equal(first.status, 200)
    assert.deepEqual(first.body.limits, { writesPerSecond: 50, burst: 100 })
    const second = await f.call('PATCH', url, { body: { limits: { maxEntries: 10_000 } } })
    assert.equal(second.status, 200)
    assert.deepEqual(second.body.limits, { writesPerSecond: 50, burst: 100, maxEntries: 10_000 })
    assert.equal(second.body.version, 3)
    const read = await f.call('GET', url)
    assert.deepEqual(read.body.limits, second.body.limits)
    const events = await f.auditor.events.list({ tenantId: t.id, table: 'tenants', limit: 100 })
    assert.deepEqual(
      events.events.map((e) => e.action),
      ['create', 'update', 'update'],
    )

    const bad: unknown[] = [
      { limits: { writesPerSecond: 0 } },
      { limits: { burst: -1 } },
      { limits: { maxEntries: 1.5 } },
      { limits: { writesPerSecond: '5' } },
      { limits: { writesPerSecond: 1_000_000_000 } },
      { limits: { maxEntries: 10 ** 12 } },
      { limits: { unknown: 1 } },
      { limits: {} },
      { limits: null },
      {},
      { limits: { burst: 5 }, name: 'rename' },
    ]
    for (const body of bad) {
      const res = await f.call('PATCH', url, { body })
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.equal(res.body.error.code, 'validation')
    }
    assert.deepEqual((await f.call('GET', url)).body.limits, second.body.limits)
    const missing = await f.call('PATCH', '/api/v1/tenants/01ARZ3NDEKTSV4RRFFQ69G5FAV', {
      body: { limits: { burst: 1 } },
    })
    assert.equal(missing.status, 404)
  })
})
