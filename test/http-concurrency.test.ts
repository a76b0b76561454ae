/**
 * Concurrency over HTTP: 20 concurrent PATCHes of one entry leave a linear history, and a
 * graceful shutdown in the middle of a burst of writes loses no accepted write.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { loadConfig } from '../packages/cms/src/server/config.js'
import { serve } from '../packages/cms/src/server/serve.js'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http concurrency', (f) => {
  it('20 concurrent PATCHes of one entry: every one applied once, history linear', async () => {
    const type = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'counter', name: 'Counter', fields: [{ name: 'note', type: 'string' }] },
    })
    assert.equal(type.status, 201)
    const entry = await f.call('POST', '/api/v1/entries/counter', { body: { data: { note: 'start' } } })
    assert.equal(entry.status, 201)
    const id = entry.body.id as string
    // No version given: each PATCH merges over what it reads and the engine serialises
    // them on the row lock; a stale merge is refused (409), never silently lost.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        f.call('PATCH', `/api/v1/entries/counter/${id}`, { body: { data: { note: `writer ${i}` } } }),
      ),
    )
    const ok = answers.filter((a) => a.status === 200)
    assert.ok(
      answers.every((a) => a.status === 200 || a.status === 409),
      answers.map((a) => a.status).join(','),
    )
    assert.ok(ok.length >= 1)
    const history = await f.call('GET', `/api/v1/audit/history/entries/${id}`)
    const events = history.body.items as { oldValues: unknown; newValues: { version: number } }[]
    assert.equal(events.length, 1 + ok.length, 'one event per successful PATCH, none for a refused one')
    for (let i = 1; i < events.length; i++) {
      assert.deepEqual(
        events[i]!.oldValues,
        events[i - 1]!.newValues,
        `event ${i} starts where ${i - 1} ended`,
      )
    }
    const final = await f.call('GET', `/api/v1/entries/counter/${id}`)
    assert.equal(final.body.version, events.length)
  })
})

it('a graceful shutdown during a burst of writes loses no accepted write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audited-shutdown-'))
  const url = `sqlite:${join(dir, 'cms.db')}`
  const server = await serve(
    loadConfig({
      PORT: '0',
      DATABASE_URL: url,
      LOG_LEVEL: 'silent',
      ADMIN_EMAIL: 'root@example.test',
      ADMIN_PASSWORD: 'a long enough password',
    }),
  )
  try {
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'root@example.test', password: 'a long enough password' }),
    })
    const { token } = (await login.json()) as { token: string }
    const write = (i: number) =>
      fetch(`${server.url}/api/v1/locales`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          code: `${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`,
          name: `Locale ${i}`,
        }),
      }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { id?: string } }),
        () => ({ status: 0, body: {} as { id?: string } }), // refused: the server had stopped accepting
      )
    const burst = Array.from({ length: 30 }, (_, i) => write(i))
    await Promise.race(burst) // the server is busy with the burst
    const closing = server.close() // what SIGTERM does
    const answers = await Promise.all(burst)
    await closing
    const accepted = answers.filter((a) => a.status === 201)
    assert.ok(accepted.length > 0, 'some writes were in flight when the shutdown began')
    assert.ok(
      answers.every((a) => a.status === 201 || a.status === 0 || a.status === 503),
      answers.map((a) => a.status).join(','),
    )
    const db = await openDatabase(url)
    try {
      const rows = await db.kysely.selectFrom('locales').select('id').execute()
      const events = await db.kysely
        .selectFrom('change_events')
        .select('record_id')
        .where('table_name', '=', 'locales')
        .execute()
      const stored = new Set(rows.map((r) => String(r.id)))
      const audited = new Set(events.map((e) => String(e.record_id)))
      for (const a of accepted) {
        assert.ok(stored.has(String(a.body.id)), 'every accepted write is stored')
        assert.ok(audited.has(String(a.body.id)), 'and audited')
      }
      assert.equal(rows.length, accepted.length, 'nothing stored that was not acknowledged')
    } finally {
      await db.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
