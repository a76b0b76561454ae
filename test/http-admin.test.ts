import assert from 'node:assert/strict'
import { it } from 'node:test'
import { tokens, users } from '../packages/cms/src/cms/entities.js'
import { ADMIN, forEachHttpDialect, type HttpFixture } from './http-setup.js'

type Role = 'admin' | 'editor' | 'viewer' | 'auditor'
const ROLES: readonly Role[] = ['admin', 'editor', 'viewer', 'auditor']
const PASSWORD = 'first password 1'

/** Unique names per suite run (every dialect has its own database; tests share one). */
let seq = 0
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`
const email = () => `${unique('user')}@example.test`

async function newTenant(f: HttpFixture): Promise<{ id: string; adminToken: string }> {
  const res = await f.call('POST', '/api/v1/tenants', { body: { name: unique('tenant') } })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.tenant.id, adminToken: res.body.adminToken }
}

async function newToken(
  f: HttpFixture,
  adminToken: string,
  role: Role,
): Promise<{ id: string; token: string }> {
  const res = await f.call('POST', '/api/v1/tokens', {
    token: adminToken,
    body: { name: `${role} token`, role },
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.id, token: res.body.token }
}

async function newUser(
  f: HttpFixture,
  adminToken: string,
  role: Role = 'editor',
  password = PASSWORD,
): Promise<{ id: string; email: string }> {
  const address = email()
  const res = await f.call('POST', '/api/v1/users', {
    token: adminToken,
    body: { email: address, password, role },
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.id, email: address }
}

async function login(f: HttpFixture, address: string, password: string) {
  return f.call('POST', '/api/v1/auth/login', { token: null, body: { email: address, password } })
}

async function count(f: HttpFixture, table: string): Promise<number> {
  const row = await f.db.readKysely
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function counts(f: HttpFixture): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const t of ['change_events', 'tenants', 'users', 'tokens']) out[t] = await count(f, t)
  return out
}

/** The bootstrap platform admin's user id (tenant `default`). */
async function platformAdminId(f: HttpFixture): Promise<string> {
  const list = await f.call('GET', '/api/v1/users?limit=200')
  const me = list.body.items.find((u: { email: string }) => u.email === ADMIN.email)
  assert.ok(me)
  return me.id
}

/** No secret, in any spelling, anywhere in a response. */
function assertNoSecrets(body: unknown): void {
  const text = JSON.stringify(body)
  assert.doesNotMatch(text, /password|tokenHash|token_hash|scrypt\$/i)
}

forEachHttpDialect('http admin', (f) => {
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

  it('user CRUD: lower-cased email, password write-only and redacted in events, duplicate 409', async () => {
    const t = await newTenant(f)
    const address = email()
    const create = await f.call('POST', '/api/v1/users', {
      token: t.adminToken,
      body: { email: address.toUpperCase(), password: PASSWORD, role: 'editor', name: 'Ed' },
    })
    assert.equal(create.status, 201)
    assert.equal(create.body.email, address)
    assert.equal(create.body.role, 'editor')
    assert.equal(create.body.name, 'Ed')
    assert.equal(create.body.platformAdmin, false)
    assert.equal(create.body.version, 1)
    assert.equal(create.body.tenantId, undefined)
    assertNoSecrets(create.body)
    const id = create.body.id

    const stored = await f.db.readKysely
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    assert.match(String(stored.password_hash), /^scrypt\$/)
    const history = (await f.auditor.events.history(users, id, { tenantId: t.id })).events
    assert.equal(history.length, 1)
    assert.equal(history[0]?.newValues?.password_hash, '[redacted]')
    assert.doesNotMatch(JSON.stringify(history), /scrypt\$|first password/)

    const one = await f.call('GET', `/api/v1/users/${id}`, { token: t.adminToken })
    assert.equal(one.status, 200)
    assert.equal(one.body.email, address)
    // Read back through the database, the same JSON on every dialect (no 0/1, no date text).
    assert.equal(one.body.platformAdmin, false)
    assert.equal(one.body.createdAt, create.body.createdAt)
    assert.match(one.body.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assertNoSecrets(one.body)
    const list = await f.call('GET', '/api/v1/users', { token: t.adminToken })
    assert.deepEqual(
      list.body.items.map((u: { id: string }) => u.id),
      [id],
    )
    assertNoSecrets(list.body)
    const viewers = await f.call('GET', '/api/v1/users?role=viewer', { token: t.adminToken })
    assert.deepEqual(viewers.body.items, [])

    const duplicate = await f.call('POST', '/api/v1/users', {
      token: t.adminToken,
      body: { email: address.replace('user', 'USER'), password: PASSWORD, role: 'viewer' },
    })
    assert.equal(duplicate.status, 409)
    assert.equal(duplicate.body.error.code, 'conflict')

    for (const body of [
      { email: 'not-an-email', password: PASSWORD, role: 'viewer' },
      { email: 'a b@example.test', password: PASSWORD, role: 'viewer' },
      { email: email(), password: 'short', role: 'viewer' },
      { email: email(), password: 'x'.repeat(201), role: 'viewer' },
      { email: email(), password: PASSWORD, role: 'owner' },
      { email: email(), password: PASSWORD },
      { email: email(), password: PASSWORD, role: 'viewer', platformAdmin: true },
    ]) {
      const res = await f.call('POST', '/api/v1/users', { token: t.adminToken, body })
      assert.equal(res.status, 400, JSON.stringify(body))
    }

    const patch = await f.call('PATCH', `/api/v1/users/${id}`, {
      token: t.adminToken,
      body: { name: 'Edith', role: 'viewer' },
    })
    assert.equal(patch.status, 200)
    assert.equal(patch.body.name, 'Edith')
    assert.equal(patch.body.role, 'viewer')
    assert.equal(patch.body.version, 2)
    assertNoSecrets(patch.body)
    for (const body of [{}, { email: email() }, { password: 'short' }, { role: 'root' }]) {
      const res = await f.call('PATCH', `/api/v1/users/${id}`, { token: t.adminToken, body })
      assert.equal(res.status, 400, JSON.stringify(body))
    }

    const del = await f.call('DELETE', `/api/v1/users/${id}`, { token: t.adminToken })
    assert.equal(del.status, 204)
    assert.equal(del.body, undefined)
    assert.equal((await f.call('GET', `/api/v1/users/${id}`, { token: t.adminToken })).status, 404)
    assert.equal((await f.call('DELETE', `/api/v1/users/${id}`, { token: t.adminToken })).status, 404)
    const after = (await f.auditor.events.history(users, id, { tenantId: t.id })).events
    assert.deepEqual(
      after.map((e) => e.action),
      ['create', 'update', 'delete'],
    )
    assert.equal(after[2]?.oldValues?.password_hash, '[redacted]')
  })

  it('a created user logs in; after a password PATCH the old password and old sessions fail', async () => {
    const t = await newTenant(f)
    const user = await newUser(f, t.adminToken, 'editor')
    const first = await login(f, user.email, PASSWORD)
    assert.equal(first.status, 200)
    const session = first.body.token
    assert.equal((await f.call('GET', '/api/v1/roles', { token: session })).status, 200)

    const patch = await f.call('PATCH', `/api/v1/users/${user.id}`, {
      token: t.adminToken,
      body: { password: 'second password 2' },
    })
    assert.equal(patch.status, 200)
    assertNoSecrets(patch.body)
    const history = (await f.auditor.events.history(users, user.id, { tenantId: t.id })).events
    assert.deepEqual(history.at(-1)?.changedFields, ['password_hash', 'updated_at', 'version'])
    assert.equal(history.at(-1)?.newValues?.password_hash, '[redacted]')

    assert.equal((await login(f, user.email, PASSWORD)).status, 401)
    assert.equal((await f.call('GET', '/api/v1/roles', { token: session })).status, 401)
    const second = await login(f, user.email, 'second password 2')
    assert.equal(second.status, 200)
    assert.equal((await f.call('GET', '/api/v1/roles', { token: second.body.token })).status, 200)
  })

  it('a role change takes effect at once: the demoted admin session is revoked', async () => {
    const t = await newTenant(f)
    const user = await newUser(f, t.adminToken, 'admin')
    const session = (await login(f, user.email, PASSWORD)).body.token
    assert.equal((await f.call('GET', '/api/v1/users', { token: session })).status, 200)
    const patch = await f.call('PATCH', `/api/v1/users/${user.id}`, {
      token: t.adminToken,
      body: { role: 'viewer' },
    })
    assert.equal(patch.status, 200)
    assert.equal((await f.call('GET', '/api/v1/users', { token: session })).status, 401)
    const fresh = (await login(f, user.email, PASSWORD)).body.token
    assert.equal((await f.call('GET', '/api/v1/users', { token: fresh })).status, 403)
    // Deleting the user revokes the sessions in the same transaction.
    assert.equal((await f.call('DELETE', `/api/v1/users/${user.id}`, { token: t.adminToken })).status, 204)
    assert.equal((await f.call('GET', '/api/v1/roles', { token: fresh })).status, 401)
  })

  it('a user cannot change their own role or delete themselves (409); a tenant admin cannot touch a platform admin (403)', async () => {
    const me = await platformAdminId(f)
    const role = await f.call('PATCH', `/api/v1/users/${me}`, { body: { role: 'viewer' } })
    assert.equal(role.status, 409)
    assert.equal(role.body.error.code, 'conflict')
    const del = await f.call('DELETE', `/api/v1/users/${me}`)
    assert.equal(del.status, 409)
    const name = await f.call('PATCH', `/api/v1/users/${me}`, { body: { name: 'Root' } })
    assert.equal(name.status, 200)
    assert.equal(name.body.name, 'Root')
    assert.equal(name.body.platformAdmin, true)

    // A plain admin of the platform admin's own tenant.
    const other = await newUser(f, f.adminToken, 'admin')
    const session = (await login(f, other.email, PASSWORD)).body.token
    const takeover = await f.call('PATCH', `/api/v1/users/${me}`, {
      token: session,
      body: { password: 'attacker password' },
    })
    assert.equal(takeover.status, 403)
    assert.equal((await f.call('DELETE', `/api/v1/users/${me}`, { token: session })).status, 403)
    assert.equal((await login(f, ADMIN.email, ADMIN.password)).status, 200)
  })

  it('user and token lists page with ?limit and ?after', async () => {
    const t = await newTenant(f)
    const ids = [(await newUser(f, t.adminToken)).id, (await newUser(f, t.adminToken)).id]
    const first = await f.call('GET', '/api/v1/users?limit=1', { token: t.adminToken })
    assert.equal(first.status, 200)
    assert.deepEqual(
      first.body.items.map((u: { id: string }) => u.id),
      [ids[0]],
    )
    assert.equal(first.body.nextCursor, ids[0])
    const second = await f.call('GET', `/api/v1/users?limit=1&after=${first.body.nextCursor}`, {
      token: t.adminToken,
    })
    assert.deepEqual(
      second.body.items.map((u: { id: string }) => u.id),
      [ids[1]],
    )
    assert.equal(second.body.nextCursor, null)
    const tokenPage = await f.call('GET', '/api/v1/tokens?limit=200', { token: t.adminToken })
    assert.equal(tokenPage.status, 200)
    assert.equal(tokenPage.body.items.length, 1)
    for (const q of ['limit=0', 'limit=201', 'limit=abc', 'limit=1.5', 'after=nope', 'unknown=1']) {
      const res = await f.call('GET', `/api/v1/users?${q}`, { token: t.adminToken })
      assert.equal(res.status, 400, q)
    }
  })

  it('GET /roles lists the four roles with descriptions for any principal', async () => {
    const t = await newTenant(f)
    for (const role of ROLES) {
      const { token } = await newToken(f, t.adminToken, role)
      const res = await f.call('GET', '/api/v1/roles', { token })
      assert.equal(res.status, 200)
      assert.deepEqual(
        res.body.items.map((r: { name: string }) => r.name),
        ROLES,
      )
      for (const r of res.body.items) assert.ok(r.description.length > 10)
    }
    assert.equal((await f.call('GET', '/api/v1/roles', { token: null })).status, 401)
  })

  it('tokens: created once with the secret, listed without it, deleted token is 401', async () => {
    const t = await newTenant(f)
    const create = await f.call('POST', '/api/v1/tokens', {
      token: t.adminToken,
      body: { name: 'ci deploy', role: 'viewer' },
    })
    assert.equal(create.status, 201)
    assert.match(create.body.token, /^aud_/)
    assert.equal(create.body.kind, 'api')
    assert.equal(create.body.role, 'viewer')
    assert.equal(create.body.userId, null)
    assert.equal(create.body.platformAdmin, false)
    assert.equal(create.body.tokenHash, undefined)
    const secret = create.body.token
    const stored = await f.db.readKysely
      .selectFrom('tokens')
      .select('token_hash')
      .where('id', '=', create.body.id)
      .executeTakeFirstOrThrow()
    assert.match(String(stored.token_hash), /^[0-9a-f]{64}$/)
    assert.notEqual(stored.token_hash, secret)

    const list = await f.call('GET', '/api/v1/tokens', { token: t.adminToken })
    assert.equal(list.status, 200)
    assert.ok(list.body.items.some((x: { id: string }) => x.id === create.body.id))
    assertNoSecrets(list.body)
    assert.ok(!JSON.stringify(list.body).includes(secret))
    for (const item of list.body.items) assert.equal(item.token, undefined)

    // Sessions appear with their kind; ?kind filters.
    const user = await newUser(f, t.adminToken, 'viewer')
    await login(f, user.email, PASSWORD)
    const sessions = await f.call('GET', '/api/v1/tokens?kind=session', { token: t.adminToken })
    assert.equal(sessions.body.items.length, 1)
    assert.equal(sessions.body.items[0].kind, 'session')
    assert.equal(sessions.body.items[0].userId, user.id)
    const apis = await f.call('GET', '/api/v1/tokens?kind=api', { token: t.adminToken })
    assert.ok(apis.body.items.every((x: { kind: string }) => x.kind === 'api'))
    assert.equal(apis.body.items.length, 2)
    assert.equal((await f.call('GET', '/api/v1/tokens?kind=other', { token: t.adminToken })).status, 400)

    assert.equal((await f.call('GET', '/api/v1/roles', { token: secret })).status, 200)
    const del = await f.call('DELETE', `/api/v1/tokens/${create.body.id}`, { token: t.adminToken })
    assert.equal(del.status, 204)
    assert.equal((await f.call('GET', '/api/v1/roles', { token: secret })).status, 401)
    assert.equal(
      (await f.call('DELETE', `/api/v1/tokens/${create.body.id}`, { token: t.adminToken })).status,
      404,
    )
    const events = (await f.auditor.events.history(tokens, create.body.id, { tenantId: t.id })).events
    assert.deepEqual(
      events.map((e) => e.action),
      ['create', 'delete'],
    )
    assert.equal(events[0]?.newValues?.token_hash, '[redacted]')

    for (const body of [{ name: 'x' }, { name: '', role: 'viewer' }, { name: 'x', role: 'god' }]) {
      assert.equal((await f.call('POST', '/api/v1/tokens', { token: t.adminToken, body })).status, 400)
    }
  })

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
