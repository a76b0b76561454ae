/** Audit scenario, part 3: roles, tenant isolation, refused writes, deleting the webhook.
 * Registered in order by test/http-audit.test.ts; the steps share one database and build on each other. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { ChangeEvent } from '../packages/audited/src/audit/change-event.js'
import {
  allEvents,
  countRows,
  type ScenarioHook,
  type ScenarioTokens,
  WEBHOOK,
} from './http-audit-support.js'
import type { HttpFixture } from './http-setup.js'

export function accessSteps(f: HttpFixture, t: ScenarioTokens, hook: ScenarioHook): void {
  it('roles: auditor reads audit but not restore or asset writes; viewer gets no audit; editor writes media only', async () => {
    const events = await f.call('GET', '/api/v1/audit/events', { token: t.auditor })
    assert.equal(events.status, 200)
    const restore = await f.call('POST', `/api/v1/audit/restore/webhooks/${hook.id}`, {
      token: t.auditor,
      body: { eventId: events.body.items[0].eventId },
    })
    assert.equal(restore.status, 403)
    assert.equal(restore.body.error.code, 'forbidden')
    const writes: [string, unknown][] = [
      ['/api/v1/locales', { code: 'fr', name: 'Français' }],
      [
        '/api/v1/media',
        {
          filename: 'a.txt',
          mime: 'text/plain',
          size: 1,
          checksum: 'sha256:00000000',
          url: 'https://x.test/a',
        },
      ],
      ['/api/v1/webhooks', WEBHOOK],
    ]
    for (const [url, body] of writes) {
      assert.equal((await f.call('POST', url, { token: t.auditor, body })).status, 403, url)
      assert.equal((await f.call('POST', url, { token: t.viewer, body })).status, 403, url)
    }
    assert.equal(
      (await f.call('POST', '/api/v1/locales', { token: t.editor, body: writes[0]![1] })).status,
      403,
    )
    assert.equal((await f.call('POST', '/api/v1/webhooks', { token: t.editor, body: WEBHOOK })).status, 403)
    assert.equal(
      (await f.call('PATCH', `/api/v1/webhooks/${hook.id}`, { token: t.editor, body: { active: false } }))
        .status,
      403,
    )
    assert.equal((await f.call('DELETE', `/api/v1/webhooks/${hook.id}`, { token: t.viewer })).status, 403)

    for (const url of [
      '/api/v1/audit/events',
      `/api/v1/audit/events/${events.body.items[0].eventId}`,
      `/api/v1/audit/history/webhooks/${hook.id}`,
      `/api/v1/audit/state/webhooks/${hook.id}?at=1`,
      '/api/v1/audit/export',
    ]) {
      assert.equal((await f.call('GET', url, { token: t.viewer })).status, 403, url)
      assert.equal((await f.call('GET', url, { token: t.editor })).status, 403, url)
      assert.equal((await f.call('GET', url, { token: null })).status, 401, url)
    }
    assert.equal((await f.call('GET', '/api/v1/webhooks', { token: t.auditor })).status, 403)
  })

  it("tenant isolation: another tenant's admin sees none of this tenant's events or assets", async () => {
    const mine = await allEvents(f, '&table=webhooks')
    const token = t.otherAdmin
    const get = await f.call('GET', `/api/v1/audit/events/${mine[0]!.eventId}`, { token })
    assert.equal(get.status, 404)
    const theirs = await allEvents(f, '', 1000, token)
    assert.ok(theirs.length > 0, 'their own setup events are visible to them')
    assert.ok(theirs.every((e) => e.tenantId === t.otherTenant))
    assert.deepEqual(await allEvents(f, '&table=webhooks', 1000, token), [])
    const exported = await f.call('GET', '/api/v1/audit/export', { token })
    assert.equal(exported.status, 200)
    const exportedEvents = String(exported.body)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as ChangeEvent)
    assert.deepEqual(
      exportedEvents.map((e) => e.eventId),
      theirs.map((e) => e.eventId),
    )
    for (const url of ['/api/v1/locales', '/api/v1/media', '/api/v1/webhooks']) {
      const res = await f.call('GET', url, { token })
      assert.equal(res.status, 200)
      assert.deepEqual(res.body, { items: [], nextCursor: null, hasMore: false }, url)
    }
    for (const url of [
      `/api/v1/audit/history/webhooks/${hook.id}`,
      `/api/v1/audit/state/webhooks/${hook.id}?at=1`,
    ]) {
      assert.equal((await f.call('GET', url, { token })).status, 404, url)
    }
    assert.equal((await f.call('GET', `/api/v1/webhooks/${hook.id}`, { token })).status, 404)
    assert.equal(
      (await f.call('PATCH', `/api/v1/webhooks/${hook.id}`, { token, body: { active: false } })).status,
      404,
    )
    assert.equal((await f.call('DELETE', `/api/v1/webhooks/${hook.id}`, { token })).status, 404)
    const restore = await f.call('POST', `/api/v1/audit/restore/webhooks/${hook.id}`, {
      token,
      body: { eventId: mine[0]!.eventId },
    })
    assert.equal(restore.status, 404)
    // The first tenant's own `tenants` row: its events carry the first tenant's id.
    const tenantEvent = (await allEvents(f, '&table=tenants'))[0]!
    const tenantRestore = await f.call('POST', `/api/v1/audit/restore/tenants/${f.tenantId}`, {
      token,
      body: { eventId: tenantEvent.eventId },
    })
    assert.equal(tenantRestore.status, 403)
    const check = await f.call('GET', `/api/v1/webhooks/${hook.id}`)
    assert.equal(check.body.version, 4, 'nothing changed')
  })

  it('validation 400s change no row and no event', async () => {
    const tables = ['locales', 'media', 'webhooks', 'change_events']
    const before = await Promise.all(tables.map((table) => countRows(f, table)))
    const media = {
      filename: 'a.txt',
      mime: 'text/plain',
      size: 1,
      checksum: 'sha256:00000000',
      url: 'https://x.test/a',
    }
    const bad: ['POST' | 'PATCH', string, unknown][] = [
      ['POST', '/api/v1/locales', { code: 'english!', name: 'x' }],
      ['POST', '/api/v1/locales', { code: 'fr', name: '' }],
      ['POST', '/api/v1/locales', { code: 'fr', name: 'Français', extra: 1 }],
      ['POST', '/api/v1/media', { ...media, mime: 'textplain' }],
      ['POST', '/api/v1/media', { ...media, filename: '../etc/passwd' }],
      ['POST', '/api/v1/media', { ...media, checksum: 'short' }],
      ['POST', '/api/v1/media', { ...media, size: -1 }],
      ['POST', '/api/v1/media', { ...media, size: 1.5 }],
      ['POST', '/api/v1/media', { ...media, size: '12' }],
      ['POST', '/api/v1/media', { ...media, url: 'ftp://x.test/a' }],
      ['POST', '/api/v1/media', { ...media, url: 'javascript:alert(1)' }],
      ['POST', '/api/v1/webhooks', { ...WEBHOOK, url: 'http://' }],
      ['POST', '/api/v1/webhooks', { ...WEBHOOK, events: 'entries.publish' }],
      ['POST', '/api/v1/webhooks', { ...WEBHOOK, events: [] }],
      ['POST', '/api/v1/webhooks', { ...WEBHOOK, secret: 'mine' }],
      ['PATCH', `/api/v1/webhooks/${hook.id}`, {}],
      ['PATCH', `/api/v1/webhooks/${hook.id}`, { secret: 'mine' }],
      ['PATCH', `/api/v1/webhooks/${hook.id}`, { active: 'no' }],
      ['POST', `/api/v1/audit/restore/webhooks/${hook.id}`, { eventId: 'nope' }],
    ]
    for (const [method, url, body] of bad) {
      const res = await f.call(method, url, { body })
      assert.equal(res.status, 400, `${method} ${url} ${JSON.stringify(body)}`)
      assert.equal(res.body.error.code, 'validation')
    }
    assert.equal(
      (await f.call('PATCH', '/api/v1/webhooks/not-an-id', { body: { active: false } })).status,
      400,
    )
    assert.deepEqual(await Promise.all(tables.map((table) => countRows(f, table))), before)
  })

  it('deletes a webhook; its history ends in delete; a deleted webhook cannot be restored (secret redacted)', async () => {
    const del = await f.call('DELETE', `/api/v1/webhooks/${hook.id}`)
    assert.equal(del.status, 204)
    assert.equal((await f.call('GET', `/api/v1/webhooks/${hook.id}`)).status, 404)
    const history = (await f.call('GET', `/api/v1/audit/history/webhooks/${hook.id}`)).body
      .items as ChangeEvent[]
    assert.equal(history.at(-1)!.action, 'delete')
    const now = await f.call('GET', `/api/v1/audit/state/webhooks/${hook.id}?at=${history.at(-1)!.hlc}`)
    assert.equal(now.status, 200)
    assert.equal(now.body.state, null)
    const gone = await f.call('POST', `/api/v1/audit/restore/webhooks/${hook.id}`, {
      body: { eventId: history.at(-1)!.eventId },
    })
    assert.equal(gone.status, 400, 'the record did not exist after a delete event')
    const back = await f.call('POST', `/api/v1/audit/restore/webhooks/${hook.id}`, {
      body: { eventId: history[0]!.eventId },
    })
    // Known limit: the secret is redacted in every event, so a deleted webhook has no value
    // to come back with; the engine refuses (NOT NULL) instead of inventing one.
    assert.equal(back.status, 400)
    assert.equal(back.body.error.code, 'validation')
    assert.equal((await f.call('GET', `/api/v1/webhooks/${hook.id}`)).status, 404)
  })
}
