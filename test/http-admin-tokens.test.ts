/** Admin API: roles and API tokens. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { tokens } from '../packages/cms/src/cms/entities.js'
import {
  assertNoSecrets,
  login,
  newTenant,
  newToken,
  newUser,
  PASSWORD,
  ROLES,
} from './http-admin-support.js'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http admin tokens', (f) => {
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
})
