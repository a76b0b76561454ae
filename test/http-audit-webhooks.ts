/** Audit scenario, part 1: locales, media and a webhook; its updates, history, state at an HLC, restore.
 * Registered in order by test/http-audit.test.ts; the steps share one database and build on each other. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { ChangeEvent } from '../packages/audited/src/audit/change-event.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import {
  allEvents,
  assertHlcOrder,
  type ScenarioHook,
  type ScenarioTokens,
  WEBHOOK,
} from './http-audit-support.js'
import type { HttpFixture } from './http-setup.js'

export function webhookSteps(f: HttpFixture, t: ScenarioTokens, hook: ScenarioHook): void {
  it('creates locales, media and webhooks; a duplicate locale is 409', async () => {
    const en = await f.call('POST', '/api/v1/locales', { body: { code: 'en', name: 'English' } })
    assert.equal(en.status, 201, JSON.stringify(en.body))
    assert.equal(en.body.code, 'en')
    assert.equal(en.body.version, 1)
    assert.equal(en.body.tenantId, undefined)
    const enUs = await f.call('POST', '/api/v1/locales', { body: { code: 'en-US', name: 'English (US)' } })
    assert.equal(enUs.status, 201)
    const dup = await f.call('POST', '/api/v1/locales', { body: { code: 'en', name: 'Again' } })
    assert.equal(dup.status, 409)
    assert.equal(dup.body.error.code, 'conflict')

    const file = {
      filename: 'cat.png',
      mime: 'image/png',
      size: 12345,
      checksum: 'sha256:abcdef0123',
      url: 'https://cdn.example.test/cat.png',
    }
    const m = await f.call('POST', '/api/v1/media', { token: t.editor, body: file })
    assert.equal(m.status, 201, JSON.stringify(m.body))
    assert.deepEqual(
      { ...m.body, id: undefined, version: undefined, createdAt: undefined, updatedAt: undefined },
      {
        ...file,
        id: undefined,
        version: undefined,
        createdAt: undefined,
        updatedAt: undefined,
      },
    )

    const w = await f.call('POST', '/api/v1/webhooks', { body: WEBHOOK })
    assert.equal(w.status, 201, JSON.stringify(w.body))
    assert.match(w.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    assert.equal(w.body.active, true)
    assert.deepEqual(w.body.events, WEBHOOK.events)
    hook.id = w.body.id
    hook.secret = w.body.secret

    const list = await f.call('GET', '/api/v1/locales', { token: t.viewer })
    assert.equal(list.status, 200)
    assert.deepEqual(
      list.body.items.map((l: { code: string }) => l.code),
      ['en', 'en-US'],
    )
    assert.equal(list.body.nextCursor, null)
    const page1 = await f.call('GET', '/api/v1/locales?limit=1')
    assert.equal(page1.body.items.length, 1)
    const page2 = await f.call('GET', `/api/v1/locales?limit=1&after=${page1.body.nextCursor}`)
    assert.equal(page2.body.items[0].code, 'en-US')
    const mediaList = await f.call('GET', '/api/v1/media')
    assert.equal(mediaList.body.items[0].size, 12345)
  })

  it('webhook updates, history oldest first, secret never returned by GET and redacted in events', async () => {
    for (const url of ['https://hooks.example.test/b', 'https://hooks.example.test/c']) {
      const res = await f.call('PATCH', `/api/v1/webhooks/${hook.id}`, { body: { url } })
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.equal(res.body.url, url)
      assert.equal('secret' in res.body, false)
    }
    const one = await f.call('GET', `/api/v1/webhooks/${hook.id}`, { token: t.viewer })
    assert.equal(one.status, 200)
    assert.equal(one.body.url, 'https://hooks.example.test/c')
    assert.equal(one.body.version, 3)
    assert.equal('secret' in one.body, false)
    const list = await f.call('GET', '/api/v1/webhooks')
    assert.equal(list.body.items.length, 1)
    assert.equal('secret' in list.body.items[0], false)

    const history = await f.call('GET', `/api/v1/audit/history/webhooks/${hook.id}`, { token: t.auditor })
    assert.equal(history.status, 200)
    const events: ChangeEvent[] = history.body.items
    assert.deepEqual(
      events.map((e) => e.action),
      ['create', 'update', 'update'],
    )
    assertHlcOrder(events)
    assert.deepEqual(
      events.map((e) => e.newValues?.url),
      [WEBHOOK.url, 'https://hooks.example.test/b', 'https://hooks.example.test/c'],
    )
    for (const e of events) assert.equal(e.newValues?.secret, '[redacted]')
    assert.ok(!JSON.stringify(events).includes(hook.secret))
    assert.deepEqual(events[1]!.changedFields, ['updated_at', 'url', 'version'])
  })

  it('state at an HLC between two updates, before creation, and 404s', async () => {
    const history = (await f.call('GET', `/api/v1/audit/history/webhooks/${hook.id}`)).body
      .items as ChangeEvent[]
    const [create, first, second] = history as [ChangeEvent, ChangeEvent, ChangeEvent]
    const between = BigInt(second.hlc) - 1n
    assert.ok(between >= BigInt(first.hlc))
    const mid = await f.call('GET', `/api/v1/audit/state/webhooks/${hook.id}?at=${between}`, {
      token: t.auditor,
    })
    assert.equal(mid.status, 200)
    assert.equal(mid.body.state.url, 'https://hooks.example.test/b')
    // The state reads like the resource it describes: its field names, no tenant, no secret.
    assert.equal('secret' in mid.body.state, false)
    const resource = (await f.call('GET', `/api/v1/webhooks/${hook.id}`)).body
    assert.deepEqual(Object.keys(mid.body.state).sort(), Object.keys(resource).sort())
    assert.equal(typeof mid.body.state.createdAt, 'string')
    const beforeCreate = await f.call(
      'GET',
      `/api/v1/audit/state/webhooks/${hook.id}?at=${BigInt(create.hlc) - 1n}`,
    )
    assert.equal(beforeCreate.status, 200)
    assert.equal(beforeCreate.body.state, null)
    const now = await f.call('GET', `/api/v1/audit/state/webhooks/${hook.id}?at=${new Date().toISOString()}`)
    assert.equal(now.body.state.url, 'https://hooks.example.test/c')

    const unknown = await f.call('GET', `/api/v1/audit/state/webhooks/${newRecordId()}?at=${between}`)
    assert.equal(unknown.status, 404)
    const badTable = await f.call('GET', `/api/v1/audit/state/change_events/${hook.id}?at=${between}`)
    assert.equal(badTable.status, 404)
    const proto = await f.call('GET', `/api/v1/audit/history/constructor/${hook.id}`)
    assert.equal(proto.status, 404)
    const badAt = await f.call('GET', `/api/v1/audit/state/webhooks/${hook.id}?at=yesterday`)
    assert.equal(badAt.status, 400)
    const noDate = await f.call('GET', `/api/v1/audit/state/webhooks/${hook.id}?at=2024-13-45`)
    assert.equal(noDate.status, 400)
  })

  it('restores a webhook to an earlier event (action restore); the secret stays and is not returned', async () => {
    const history = (await f.call('GET', `/api/v1/audit/history/webhooks/${hook.id}`)).body
      .items as ChangeEvent[]
    const created = history[0]!
    const res = await f.call('POST', `/api/v1/audit/restore/webhooks/${hook.id}`, {
      body: { eventId: created.eventId },
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.url, WEBHOOK.url)
    assert.equal(res.body.version, 4)
    assert.equal('secret' in res.body, false)
    const after = (await f.call('GET', `/api/v1/audit/history/webhooks/${hook.id}`)).body
      .items as ChangeEvent[]
    const last = after.at(-1)!
    assert.equal(last.action, 'restore')
    assert.equal(last.operation, 'UPDATE')
    assert.equal(last.newValues?.url, WEBHOOK.url)
    assert.equal(last.actorType, 'user')
    const stored = await f.db.readKysely
      .selectFrom('webhooks')
      .select('secret')
      .where('id', '=', hook.id)
      .executeTakeFirstOrThrow()
    assert.equal(stored.secret, hook.secret)

    // An event of another record, and an unknown event, are 404.
    const locale = (await allEvents(f, '&table=locales'))[0]!
    const other = await f.call('POST', `/api/v1/audit/restore/webhooks/${hook.id}`, {
      body: { eventId: locale.eventId },
    })
    assert.equal(other.status, 404)
    const unknown = await f.call('POST', `/api/v1/audit/restore/webhooks/${hook.id}`, {
      body: { eventId: newRecordId() },
    })
    assert.equal(unknown.status, 404)
  })
}
