/** Admin API: users — CRUD, passwords and sessions, role changes, self-protection, pages. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { users } from '../packages/cms/src/cms/entities.js'
import {
  assertNoSecrets,
  email,
  login,
  newTenant,
  newUser,
  PASSWORD,
  platformAdminId,
} from './http-admin-support.js'
import { ADMIN, forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http admin users', (f) => {
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
})
