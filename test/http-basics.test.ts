import assert from 'node:assert/strict'
import { it } from 'node:test'
import { ADMIN, apiToken, forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http basics', (f) => {
  it('health and ready answer', async () => {
    assert.deepEqual((await f.call('GET', '/health', { token: null })).body, { status: 'ok' })
    assert.deepEqual((await f.call('GET', '/ready', { token: null })).body, { status: 'ready' })
  })

  it('every response carries X-Request-Id, the client one when valid', async () => {
    const mine = await f.call('GET', '/health', { token: null, headers: { 'x-request-id': 'client-req-7' } })
    assert.equal(mine.headers['x-request-id'], 'client-req-7')
    const generated = await f.call('GET', '/health', {
      token: null,
      headers: { 'x-request-id': 'bad id with spaces' },
    })
    assert.match(String(generated.headers['x-request-id']), /^[0-9A-Z]{26}$/)
  })

  it('login gives a session token; a wrong password is 401', async () => {
    const ok = await f.call('POST', '/api/v1/auth/login', { token: null, body: ADMIN })
    assert.equal(ok.status, 200)
    assert.match(ok.body.token, /^aud_/)
    assert.ok(Date.parse(ok.body.expiresAt) > Date.now())
    const bad = await f.call('POST', '/api/v1/auth/login', {
      token: null,
      body: { ...ADMIN, password: 'nope' },
    })
    assert.equal(bad.status, 401)
    assert.equal(bad.body.error.code, 'unauthorized')
    assert.equal(typeof bad.body.error.requestId, 'string')
  })

  it('malformed JSON, schema violations, unknown routes and bad tokens are classified', async () => {
    const malformed = await f.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    })
    assert.equal(malformed.statusCode, 400)
    assert.equal(JSON.parse(malformed.body).error.code, 'validation')
    const schema = await f.call('POST', '/api/v1/auth/login', { token: null, body: { email: 1 } })
    assert.equal(schema.status, 400)
    assert.equal(schema.body.error.code, 'validation')
    const route = await f.call('GET', '/api/v1/nothing-here')
    assert.equal(route.status, 404)
    // (On /api/v1/me: the public probes /health, /ready and /metrics do not read the header.)
    const token = await f.call('GET', '/api/v1/me', { token: 'aud_not-a-real-token-value' })
    assert.equal(token.status, 401)
    const scheme = await f.call('GET', '/api/v1/me', { token: null, headers: { authorization: 'Basic abc' } })
    assert.equal(scheme.status, 401)
  })

  it('login is audited with the request id and IP', async () => {
    await f.call('POST', '/api/v1/auth/login', {
      token: null,
      body: ADMIN,
      headers: { 'x-request-id': 'login-req-1' },
    })
    const page = await f.auditor.events.list({ tenantId: f.tenantId, table: 'tokens', limit: 1000 })
    const ev = page.events.find((e) => e.requestId === 'login-req-1')
    assert.ok(ev)
    assert.equal(ev.actorType, 'user')
    assert.equal(ev.newValues?.token_hash, '[redacted]')
    assert.equal(ev.ip, '127.0.0.1')
  })

  it('metrics, OpenAPI and docs are served', async () => {
    await f.call('GET', '/health', { token: null })
    const metrics = await f.call('GET', '/metrics', { token: null })
    assert.equal(metrics.status, 200)
    assert.match(
      String(metrics.body),
      /audited_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/,
    )
    assert.match(String(metrics.body), /audited_db_pool_connections \d+/)
    // group commit's totals exist where transactions share COMMITs (SQLite) and only there
    assert.equal(/audited_db_commits_total \d+/.test(String(metrics.body)), f.name === 'sqlite')
    if (f.name === 'sqlite')
      assert.match(String(metrics.body), /audited_db_committed_transactions_total [1-9]\d*/)
    assert.match(String(metrics.body), /audited_http_request_duration_seconds_bucket/)
    const api = await f.call('GET', '/openapi.json', { token: null })
    assert.equal(api.status, 200)
    assert.equal(api.body.openapi.startsWith('3.'), true)
    assert.ok(api.body.paths['/api/v1/auth/login'])
    const docs = await f.app.inject({ method: 'GET', url: '/docs/' })
    assert.equal(docs.statusCode, 200)
    assert.match(docs.body, /<html/i)
  })

  it('the role check comes before body validation: a viewer gets 403, not 400', async () => {
    const token = await apiToken(f, f.tenantId, 'viewer')
    const bad = await f.call('POST', '/api/v1/locales', { token, body: { nonsense: true } })
    assert.equal(bad.status, 403)
    assert.equal(bad.body.error.code, 'forbidden')
    const read = await f.call('GET', '/api/v1/locales', { token })
    assert.equal(read.status, 200)
  })

  it('router errors use the error envelope too', async () => {
    const bad = await f.call('GET', '/api/v1/content-types/%ff')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.code, 'validation')
    assert.equal(bad.body.error.requestId, bad.headers['x-request-id'])
    const long = await f.call('GET', `/api/v1/webhooks/${'A'.repeat(101)}`)
    assert.equal(long.status, 400)
    assert.equal(long.body.error.code, 'validation')
  })
})
