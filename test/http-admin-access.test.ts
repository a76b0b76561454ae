/** Admin API: the role × route matrix, tenant isolation, and refused writes that change nothing. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import {
  counts,
  email,
  newTenant,
  newToken,
  newUser,
  PASSWORD,
  platformAdminId,
  ROLES,
  type Role,
  unique,
} from './http-admin-support.js'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http admin access', (f) => {
  it('role × route matrix: admin passes, editor/viewer/auditor get 403', async () => {
    const t = await newTenant(f)
    const admin = t.adminToken
    const routes: {
      name: string
      request: () => Promise<{ method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; body?: unknown }>
      adminOnly: boolean
      platformOnly?: boolean
    }[] = [
      { name: 'list users', adminOnly: true, request: async () => ({ method: 'GET', url: '/api/v1/users' }) },
      {
        name: 'create user',
        adminOnly: true,
        request: async () => ({
          method: 'POST',
          url: '/api/v1/users',
          body: { email: email(), password: PASSWORD, role: 'viewer' },
        }),
      },
      {
        name: 'get user',
        adminOnly: true,
        request: async () => ({ method: 'GET', url: `/api/v1/users/${(await newUser(f, admin)).id}` }),
      },
      {
        name: 'patch user',
        adminOnly: true,
        request: async () => ({
          method: 'PATCH',
          url: `/api/v1/users/${(await newUser(f, admin)).id}`,
          body: { name: 'renamed' },
        }),
      },
      {
        name: 'delete user',
        adminOnly: true,
        request: async () => ({ method: 'DELETE', url: `/api/v1/users/${(await newUser(f, admin)).id}` }),
      },
      {
        name: 'list tokens',
        adminOnly: true,
        request: async () => ({ method: 'GET', url: '/api/v1/tokens' }),
      },
      {
        name: 'create token',
        adminOnly: true,
        request: async () => ({ method: 'POST', url: '/api/v1/tokens', body: { name: 'n', role: 'viewer' } }),
      },
      {
        name: 'delete token',
        adminOnly: true,
        request: async () => ({
          method: 'DELETE',
          url: `/api/v1/tokens/${(await newToken(f, admin, 'viewer')).id}`,
        }),
      },
      {
        name: 'get tenant',
        adminOnly: true,
        request: async () => ({ method: 'GET', url: `/api/v1/tenants/${t.id}` }),
      },
      { name: 'roles', adminOnly: false, request: async () => ({ method: 'GET', url: '/api/v1/roles' }) },
      {
        name: 'create tenant',
        adminOnly: true,
        platformOnly: true,
        request: async () => ({ method: 'POST', url: '/api/v1/tenants', body: { name: unique('m') } }),
      },
      {
        name: 'patch tenant',
        adminOnly: true,
        platformOnly: true,
        request: async () => ({
          method: 'PATCH',
          url: `/api/v1/tenants/${t.id}`,
          body: { limits: { burst: 9 } },
        }),
      },
    ]
    const bearer: Record<Role, string> = { admin: '', editor: '', viewer: '', auditor: '' }
    for (const role of ROLES) bearer[role] = (await newToken(f, admin, role)).token
    let checked = 0
    for (const route of routes) {
      for (const role of ROLES) {
        const { method, url, body } = await route.request()
        const res = await f.call(method, url, { token: bearer[role], body })
        const allowed = !route.platformOnly && (!route.adminOnly || role === 'admin')
        if (allowed)
          assert.ok(res.status >= 200 && res.status < 300, `${route.name} as ${role}: ${res.status}`)
        else {
          assert.equal(res.status, 403, `${route.name} as ${role}: ${res.status}`)
          assert.equal(res.body.error.code, 'forbidden')
        }
        checked++
      }
    }
    assert.equal(checked, routes.length * ROLES.length)
  })

  it("tenant isolation: another tenant's users and tokens are 404, never 403, and never listed", async () => {
    const a = await newTenant(f)
    const b = await newTenant(f)
    const userA = await newUser(f, a.adminToken, 'editor')
    const tokenA = await newToken(f, a.adminToken, 'viewer')
    const asB = { token: b.adminToken }
    for (const [method, url, body] of [
      ['GET', `/api/v1/users/${userA.id}`, undefined],
      ['PATCH', `/api/v1/users/${userA.id}`, { name: 'hijack' }],
      ['PATCH', `/api/v1/users/${userA.id}`, { password: 'hijacked password' }],
      ['DELETE', `/api/v1/users/${userA.id}`, undefined],
      ['DELETE', `/api/v1/tokens/${tokenA.id}`, undefined],
      ['GET', `/api/v1/tenants/${a.id}`, undefined],
    ] as const) {
      const res = await f.call(method, url, { ...asB, body })
      assert.equal(res.status, 404, `${method} ${url}`)
      assert.equal(res.body.error.code, 'not_found')
    }
    // The platform admin, too, is scoped to its own tenant for users and tokens.
    assert.equal((await f.call('GET', `/api/v1/users/${userA.id}`)).status, 404)
    assert.equal((await f.call('DELETE', `/api/v1/tokens/${tokenA.id}`)).status, 404)

    const usersB = await f.call('GET', '/api/v1/users', asB)
    assert.ok(!usersB.body.items.some((u: { id: string }) => u.id === userA.id))
    const tokensB = await f.call('GET', '/api/v1/tokens', asB)
    assert.ok(!tokensB.body.items.some((x: { id: string }) => x.id === tokenA.id))
    // A's records are untouched and A's token still works.
    const still = await f.call('GET', `/api/v1/users/${userA.id}`, { token: a.adminToken })
    assert.equal(still.body.name, null)
    assert.equal(still.body.version, 1)
    assert.equal((await f.call('GET', '/api/v1/roles', { token: tokenA.token })).status, 200)
  })

  it('a 4xx changes no row and writes no event', async () => {
    const t = await newTenant(f)
    const user = await newUser(f, t.adminToken, 'editor')
    const viewer = await newToken(f, t.adminToken, 'viewer')
    const other = await newTenant(f)
    const existingTenant = (await f.call('GET', `/api/v1/tenants/${t.id}`)).body.name
    const me = await platformAdminId(f)
    const before = await counts(f)

    const failing: {
      status: number
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
      url: string
      token?: string | null
      body?: unknown
    }[] = [
      { status: 409, method: 'POST', url: '/api/v1/tenants', body: { name: existingTenant } },
      {
        status: 403,
        method: 'POST',
        url: '/api/v1/tenants',
        token: t.adminToken,
        body: { name: unique('n') },
      },
      { status: 400, method: 'PATCH', url: `/api/v1/tenants/${t.id}`, body: { limits: { burst: 0 } } },
      {
        status: 409,
        method: 'POST',
        url: '/api/v1/users',
        token: t.adminToken,
        body: { email: user.email, password: PASSWORD, role: 'viewer' },
      },
      {
        status: 400,
        method: 'POST',
        url: '/api/v1/users',
        token: t.adminToken,
        body: { email: email(), password: 'short', role: 'viewer' },
      },
      {
        status: 403,
        method: 'POST',
        url: '/api/v1/users',
        token: viewer.token,
        body: { email: email(), password: PASSWORD, role: 'admin' },
      },
      { status: 403, method: 'DELETE', url: `/api/v1/tokens/${viewer.id}`, token: viewer.token },
      { status: 404, method: 'DELETE', url: `/api/v1/users/${user.id}`, token: other.adminToken },
      {
        status: 404,
        method: 'PATCH',
        url: `/api/v1/users/${user.id}`,
        token: other.adminToken,
        body: { password: 'another password' },
      },
      { status: 409, method: 'PATCH', url: `/api/v1/users/${me}`, body: { role: 'editor', name: 'x' } },
      { status: 409, method: 'DELETE', url: `/api/v1/users/${me}` },
      { status: 401, method: 'POST', url: '/api/v1/tokens', token: null, body: { name: 'n', role: 'admin' } },
    ]
    for (const c of failing) {
      const res = await f.call(c.method, c.url, {
        body: c.body,
        ...(c.token === undefined ? {} : { token: c.token }),
      })
      assert.equal(res.status, c.status, `${c.method} ${c.url}: ${JSON.stringify(res.body)}`)
    }
    assert.deepEqual(await counts(f), before)
    assert.equal((await f.call('GET', `/api/v1/users/${user.id}`, { token: t.adminToken })).body.version, 1)
  })
})
