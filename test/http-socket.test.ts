/**
 * Smoke test through a real socket: `serve()` as `npm start` runs it (SQLite file, first
 * start bootstrap, listen), a login and an audited write over HTTP, then a graceful close.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { loadConfig } from '../packages/cms/src/server/config.js'
import { serve } from '../packages/cms/src/server/serve.js'

it('serve() answers over a real socket and closes gracefully', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audited-serve-'))
  const server = await serve(
    loadConfig({
      PORT: '0',
      DATABASE_URL: `sqlite:${join(dir, 'data', 'cms.db')}`,
      LOG_LEVEL: 'silent',
      ADMIN_EMAIL: 'root@example.test',
      ADMIN_PASSWORD: 'a long enough password',
    }),
  )
  try {
    const health = await fetch(`${server.url}/health`)
    assert.equal(health.status, 200)
    assert.ok(health.headers.get('x-request-id'))
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'root@example.test', password: 'a long enough password' }),
    })
    assert.equal(login.status, 200)
    const { token } = (await login.json()) as { token: string }
    const created = await fetch(`${server.url}/api/v1/locales`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'user-agent': 'smoke/1',
      },
      body: JSON.stringify({ code: 'fr', name: 'Français' }),
    })
    assert.equal(created.status, 201)
    const events = await fetch(`${server.url}/api/v1/audit/events?table=locales`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const body = (await events.json()) as { items: { userAgent: string; ip: string; action: string }[] }
    assert.equal(body.items.length, 1)
    assert.equal(body.items[0]?.userAgent, 'smoke/1')
    assert.equal(body.items[0]?.action, 'create')
  } finally {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  }
  await assert.rejects(fetch(`${server.url}/health`), 'closed: no longer listening')
})
