/**
 * `POST /api/v1/auth/logout` on every dialect: the session it is called with ends for good —
 * refused (401 `unauthorized`) on every authenticated route of `/openapi.json`, also by
 * another server process over the same database — while the user's other sessions and the
 * tenant's API tokens keep working. A missing, malformed, unknown, expired or already
 * ended token is a clean 401; an API token is told to use `DELETE /tokens/{id}` (400);
 * concurrent logouts of one session never answer 500. The logout is an audited delete of
 * the session (actor the user, reason "logout").
 */
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { tokens } from '../packages/cms/src/cms/entities.js'
import { hashToken } from '../packages/cms/src/cms/secrets.js'
import { type App, buildApp } from '../packages/cms/src/server/app.js'
import { ADMIN, apiToken, forEachHttpDialect, type HttpFixture } from './http-setup.js'
import { PERSONAL_DATA } from './setup.js'

const LOGOUT = '/api/v1/auth/logout'

async function login(f: HttpFixture): Promise<string> {
  const res = await f.call('POST', '/api/v1/auth/login', { token: null, body: ADMIN })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body.token
}

async function sessionId(f: HttpFixture, token: string): Promise<string | undefined> {
  const row = await f.db.readKysely
    .selectFrom('tokens')
    .select('id')
    .where('token_hash', '=', hashToken(token))
    .executeTakeFirst()
  return row === undefined ? undefined : String(row.id)
}

function assertUnauthorized(res: Awaited<ReturnType<HttpFixture['call']>>, at: string): void {
  assert.equal(res.status, 401, `${at}: ${JSON.stringify(res.body)}`)
  assert.equal(res.body?.error?.code, 'unauthorized', at)
  assert.equal(typeof res.body.error.requestId, 'string', at)
}

forEachHttpDialect('auth logout', (f) => {
  const closers: (() => Promise<void>)[] = []
  after(async () => {
    for (const close of closers.reverse()) await close()
  })

  it('ends the session: 204, then the same token is refused on every authenticated route', async () => {
    const token = await login(f)
    const id = await sessionId(f, token)
    assert.ok(id !== undefined)
    assert.equal((await f.call('GET', '/api/v1/me', { token })).status, 200)

    const res = await f.call('POST', LOGOUT, { token })
    assert.equal(res.status, 204, JSON.stringify(res.body))
    assert.equal(res.body, undefined)
    assert.equal(await sessionId(f, token), undefined, 'the session row is gone')

    const doc = (await f.call('GET', '/openapi.json', { token: null })).body as {
      paths: Record<string, Record<string, { security?: unknown[] }>>
    }
    let checked = 0
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (Array.isArray(op.security) && op.security.length === 0) continue // public
        const url = path.replace(/\{[^}]+\}/g, 'x')
        const m = method.toUpperCase() as 'GET' | 'POST' | 'PATCH' | 'DELETE'
        const body = m === 'GET' || m === 'DELETE' ? undefined : {}
        assertUnauthorized(await f.call(m, url, { token, body }), `${m} ${url}`)
        checked += 1
      }
    }
    assert.ok(checked >= 40, `${checked} operations checked`)

    // The history of the session ends in its delete: by the user, reason "logout".
    const history = await f.call('GET', `/api/v1/audit/history/tokens/${id}`)
    assert.equal(history.status, 200)
    const last = history.body.items.at(-1)
    assert.equal(last.operation, 'DELETE')
    assert.equal(last.action, 'delete')
    assert.equal(last.actorType, 'user')
    assert.equal(last.reason, 'logout')
    const me = await f.call('GET', '/api/v1/me')
    assert.equal(last.actorId, me.body.userId)
  })

  it("leaves the user's other sessions and the tenant's API tokens alone", async () => {
    const [a, b] = [await login(f), await login(f)]
    const api = await apiToken(f, f.tenantId, 'viewer')
    assert.equal((await f.call('POST', LOGOUT, { token: a })).status, 204)
    assertUnauthorized(await f.call('GET', '/api/v1/me', { token: a }), 'the ended session')
    assert.equal((await f.call('GET', '/api/v1/me', { token: b })).status, 200, 'the other session')
    assert.equal((await f.call('GET', '/api/v1/me', { token: api })).status, 200, 'the API token')
    assert.equal((await f.call('GET', '/api/v1/me')).status, 200, "the fixture's own session")
  })

  it('another server process over the same database refuses the ended session at once', async () => {
    const db = await openDatabase(f.url)
    const auditor = createAuditor({ db, personalData: PERSONAL_DATA })
    const other: App = buildApp({ db, auditor })
    await other.ready()
    closers.push(async () => {
      await other.close()
      await auditor.close()
      await db.close()
    })
    const me = (token: string) =>
      other.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })
    const token = await login(f)
    assert.equal((await me(token)).statusCode, 200, 'the session works on both')
    assert.equal((await f.call('POST', LOGOUT, { token })).status, 204)
    const res = await me(token)
    assert.equal(res.statusCode, 401, res.body)
    assert.equal(JSON.parse(res.body).error.code, 'unauthorized')
  })

  it('a missing, malformed, unknown, expired or ended token is a clean 401', async () => {
    assertUnauthorized(await f.call('POST', LOGOUT, { token: null }), 'no token')
    assertUnauthorized(
      await f.call('POST', LOGOUT, { token: null, headers: { authorization: 'Basic eDp5' } }),
      'not a bearer token',
    )
    assertUnauthorized(await f.call('POST', LOGOUT, { token: 'not-a-valid-token-at-all' }), 'unknown')
    const expired = await login(f)
    await f.auditor.update(
      tokens,
      (await sessionId(f, expired))!,
      { expires_at: new Date(Date.now() - 60_000) },
      { tenantId: f.tenantId, actorId: 'test-setup', actorType: 'system' },
    )
    assertUnauthorized(await f.call('POST', LOGOUT, { token: expired }), 'expired')
    const ended = await login(f)
    assert.equal((await f.call('POST', LOGOUT, { token: ended })).status, 204)
    assertUnauthorized(await f.call('POST', LOGOUT, { token: ended }), 'a second logout')
    // A body is not needed, and one given is not read (the explorer sends none).
    const withBody = await login(f)
    assert.equal((await f.call('POST', LOGOUT, { token: withBody, body: {} })).status, 204)
  })

  it('concurrent logouts of one session: one 204, the others 204 or 401, never a 500', async () => {
    for (let round = 0; round < 3; round++) {
      const token = await login(f)
      const answers = await Promise.all(Array.from({ length: 6 }, () => f.call('POST', LOGOUT, { token })))
      const statuses = answers.map((r) => r.status)
      assert.ok(statuses.includes(204), `statuses ${statuses.join(',')}`)
      for (const r of answers) {
        assert.ok(r.status === 204 || r.status === 401, `status ${r.status}: ${JSON.stringify(r.body)}`)
      }
      assert.equal(await sessionId(f, token), undefined)
      assertUnauthorized(await f.call('GET', '/api/v1/me', { token }), 'after the race')
    }
  })

  it('an API token is not logged out: 400, revoke it with DELETE /tokens/{id} instead', async () => {
    const api = await apiToken(f, f.tenantId, 'admin')
    const res = await f.call('POST', LOGOUT, { token: api })
    assert.equal(res.status, 400, JSON.stringify(res.body))
    assert.equal(res.body.error.code, 'validation')
    assert.match(res.body.error.message, /DELETE \/api\/v1\/tokens\//)
    assert.equal((await f.call('GET', '/api/v1/me', { token: api })).status, 200, 'the token still works')
  })
})
