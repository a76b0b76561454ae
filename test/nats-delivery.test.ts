/**
 * NATS JetStream delivery through the real server (`serve` with NATS_URL), on every
 * dialect: the stream is created when absent (subjects `<prefix>.>`, duplicate window ≥ 2
 * min); every change event — written before the start, while it runs, without a tenant,
 * with a tenant name full of subject syntax — is in the stream exactly once, on
 * `<prefix>.<tenant>.<table>.<action>`, with `Nats-Msg-Id` = event id and the event's API
 * JSON as body; graceful shutdown stops publishing and the next start goes on from there.
 * Read back with `@nats-io/jetstream`, the client NATS publishes for this.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import type { ChangeEvent } from '../packages/audited/src/index.js'
import { tenants } from '../packages/cms/src/cms/entities.js'
import { newTenantValues } from '../packages/cms/src/cms/tenant-operations.js'
import {
  decodeToken,
  encodeToken,
  subjectOf,
  tenantOfToken,
  tenantToken,
} from '../packages/cms/src/delivery/nats-subjects.js'
import { loadConfig } from '../packages/cms/src/server/config.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { serve } from '../packages/cms/src/server/serve.js'
import { ARTICLE } from './http-content-support.js'
import { ADMIN, forEachHttpDialect, type HttpFixture } from './http-setup.js'
import {
  duplicateIds,
  NATS_URL,
  NatsReader,
  natsSkip,
  type StoredEvent,
  uniqueNames,
  waitUntil,
} from './nats-support.js'

/** Every committed event, in feed order, as the API returns it (no feed cursor or position). */
async function allEvents(f: HttpFixture): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = []
  let after: string | undefined
  for (;;) {
    const page = await f.auditor.feed.read({ limit: 1000, ...(after === undefined ? {} : { after }) })
    for (const { cursor: _c, position: _p, ...e } of page.events) out.push(e)
    if (page.events.length < 1000) return out
    after = page.cursor
  }
}

/** The subject the contract names, written out here for plain names. */
const plainSubject = (prefix: string, e: ChangeEvent) =>
  `${prefix}.${e.tenantId ?? '_'}.${e.table}.${e.action}`

const WEIRD_TENANT = 'we.ird *tenant> \tname'

describe('NATS subject tokens', () => {
  it('are one non-empty token without . * > or whitespace, decode back, and never collide with no tenant', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), (name) => {
        const token = encodeToken(name)
        assert.match(token, /^[A-Za-z0-9_%-]+$/)
        assert.equal(decodeToken(token), name)
        assert.equal(tenantOfToken(tenantToken(name)), name)
        assert.equal(subjectOf('p', { tenantId: name, table: name, action: 'create' }).split('.').length, 4)
      }),
    )
    assert.equal(tenantToken(null), '_')
    assert.notEqual(tenantToken('_'), tenantToken(null))
    assert.equal(encodeToken('content_types'), 'content_types')
    assert.throws(() => encodeToken(''), RangeError)
  })
})

if (natsSkip !== undefined) it('NATS delivery', { skip: natsSkip }, () => {})
else
  forEachHttpDialect('NATS delivery through the server', (f) => {
    const { stream, prefix } = uniqueNames()
    let reader: NatsReader
    let server: { close(): Promise<void>; url: string } | undefined
    let streamWasAbsent = false
    const config = () =>
      loadConfig({
        DATABASE_URL: f.url,
        PORT: '0',
        LOG_LEVEL: 'silent',
        LOG_FORMAT: 'json',
        SESSION_PURGE_INTERVAL_MS: '0',
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        NATS_URL,
        NATS_SUBJECT_PREFIX: prefix,
        NATS_STREAM: stream,
        // The fixture's master key: the server opens the subject keys its writes made.
        PERSONAL_DATA_KEY: process.env.PERSONAL_DATA_KEY,
      })
    const inStream = async (n: number) => (await reader.count(stream)) === n

    before(async () => {
      reader = await NatsReader.open()
      streamWasAbsent = await reader.jsm.streams.info(stream).then(
        () => false,
        () => true,
      )
      // Events before the start: content through the API, tenants without / with odd names.
      assert.equal((await f.call('POST', '/api/v1/content-types', { body: ARTICLE })).status, 201)
      for (let i = 0; i < 3; i++) {
        const r = await f.call('POST', '/api/v1/entries/article', { body: { data: { title: `t${i}` } } })
        assert.equal(r.status, 201, JSON.stringify(r.body))
      }
      const system = { actorId: 'test', actorType: 'system' as const }
      await f.auditor.create(tenants, newTenantValues(newRecordId(), 'no-tenant'), {
        ...system,
        tenantId: null,
      })
      await f.auditor.create(tenants, newTenantValues(newRecordId(), 'weird'), {
        ...system,
        tenantId: WEIRD_TENANT,
      })
      await f.auditor.create(tenants, newTenantValues(newRecordId(), 'underscore'), {
        ...system,
        tenantId: '_',
      })
      server = await serve(config())
    })
    after(async () => {
      await server?.close()
      await reader?.deleteStream(stream)
      await reader?.close()
    })

    it('creates the absent stream: subjects <prefix>.>, duplicate window ≥ 2 minutes', async () => {
      assert.equal(streamWasAbsent, true)
      const info = await reader.jsm.streams.info(stream)
      assert.deepEqual(info.config.subjects, [`${prefix}.>`])
      assert.ok(info.config.duplicate_window >= 120e9, `duplicate window ${info.config.duplicate_window} ns`)
    })

    it('puts every event in the stream once: its subject, Nats-Msg-Id = event id, the API JSON as body', async () => {
      // Until the stream holds what the feed shows (the feed may show a commit a little later).
      await waitUntil(`every event in ${stream}`, async () => inStream((await allEvents(f)).length))
      const events = await allEvents(f)
      const messages = await reader.readAll(stream)
      assert.deepEqual(duplicateIds(messages), [])
      const byId = new Map(messages.map((m) => [m.msgId, m]))
      for (const e of events) {
        const m = byId.get(e.eventId)
        assert.ok(m !== undefined, `event ${e.eventId} is in the stream`)
        assert.deepEqual(m.body, JSON.parse(JSON.stringify(e)))
        if (e.tenantId === WEIRD_TENANT || e.tenantId === '_') continue
        assert.equal(m.subject, plainSubject(prefix, e))
      }
      // The API's own answer for one entry event is the body, field for field.
      const entry = events.find((e) => e.table === 'entries')!
      const api = await f.call('GET', `/api/v1/audit/events/${entry.eventId}`)
      assert.equal(api.status, 200)
      assert.deepEqual(byId.get(entry.eventId)!.body, api.body)
      assert.ok(!('cursor' in byId.get(entry.eventId)!.body))
      assert.ok(!('position' in byId.get(entry.eventId)!.body))
    })

    it('encodes tenant names with . * > and whitespace into one token, reversibly; no tenant is _', async () => {
      const messages = await reader.readAll(stream)
      const tokens = (m: StoredEvent) => m.subject.slice(prefix.length + 1).split('.')
      const of = (tenant: string | null) => messages.filter((m) => m.body.tenantId === tenant)
      const weird = of(WEIRD_TENANT)
      assert.equal(weird.length, 1)
      const [tenantToken, table, action, ...rest] = tokens(weird[0]!)
      assert.deepEqual(rest, [])
      assert.equal(tenantToken, 'we%2Eird%20%2Atenant%3E%20%09name')
      assert.equal(decodeToken(tenantToken!), WEIRD_TENANT)
      assert.equal(`${table}.${action}`, 'tenants.create')
      const underscore = of('_')
      assert.equal(underscore.length, 1)
      assert.equal(tokens(underscore[0]!)[0], '%5F')
      assert.equal(tenantOfToken('%5F'), '_')
      const none = of(null)
      assert.equal(none.length, 1)
      assert.equal(tokens(none[0]!)[0], '_')
      assert.equal(tenantOfToken('_'), null)
    })

    it('publishes events written while it runs', async () => {
      const before = await reader.count(stream)
      const r = await f.call('POST', '/api/v1/entries/article', { body: { data: { title: 'live' } } })
      assert.equal(r.status, 201)
      await waitUntil('the live event', () => inStream(before + 1))
      const last = (await reader.readAll(stream)).at(-1)!
      assert.equal(last.subject, `${prefix}.${f.tenantId}.entries.create`)
      assert.equal((last.body.newValues as { id: string }).id, r.body.id)
    })

    it('an event bigger than max_payload goes out without its values, marked, and publishing goes on', async () => {
      // Regression: an entry update with large text fields (old and new values > 1 MB, the
      // server's max_payload) failed its batch for ever and parked the publisher.
      const fields = Array.from({ length: 8 }, (_, i) => ({ name: `t${i}`, type: 'text' }))
      const type = await f.call('POST', '/api/v1/content-types', {
        body: { key: 'big', name: 'Big', fields },
      })
      assert.equal(type.status, 201, JSON.stringify(type.body))
      const data = (c: string) => Object.fromEntries(fields.map((x) => [x.name, c.repeat(100_000)]))
      const created = await f.call('POST', '/api/v1/entries/big', { body: { data: data('a') } })
      assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300))
      const id = created.body.id as string
      const updated = await f.call('PATCH', `/api/v1/entries/big/${id}`, {
        body: { data: data('b'), version: 1 },
      })
      assert.equal(updated.status, 200, JSON.stringify(updated.body).slice(0, 300))
      const after = await f.call('POST', '/api/v1/entries/article', {
        body: { data: { title: 'after big' } },
      })
      assert.equal(after.status, 201)
      await waitUntil('the events after the big one', async () =>
        (await reader.readAll(stream)).some(
          (m) => (m.body.newValues as { id?: string } | null)?.id === after.body.id,
        ),
      )
      const messages = await reader.readAll(stream)
      const big = messages.filter((m) => m.body.recordId === id)
      assert.deepEqual(
        big.map((m) => m.body.action),
        ['create', 'update'],
        'both events of the big entry, in order, once each',
      )
      const update = big[1]!
      // Fields are left out largest-first until the message fits: here the old values.
      assert.equal(update.body.oldValues, undefined, 'the old values left out')
      assert.ok(update.body.newValues, 'the new values still fit')
      assert.deepEqual(update.body.omitted, ['oldValues'])
      assert.equal(update.headers?.get('Audited-Omitted'), 'oldValues')
      assert.equal(big[0]!.headers?.has('Audited-Omitted') ?? false, false, 'the create fits whole')
      assert.equal(update.msgId, update.body.eventId)
      // The whole event is in the API.
      const whole = await f.call('GET', `/api/v1/audit/events/${update.body.eventId}`)
      assert.equal(whole.status, 200)
      assert.equal((whole.body.newValues as { data: Record<string, string> }).data.t0!.length, 100_000)
      assert.deepEqual(duplicateIds(messages), [])
    })

    it('shutdown stops publishing and releases the consumer; the next start goes on, each event still once', async () => {
      await server!.close()
      server = undefined
      const stats = (await f.auditor.feed.stats()).consumers.find((c) => c.name === 'audited.nats')
      assert.ok(stats !== undefined)
      assert.equal(stats.leaseOwner, null, 'the lease was given up')
      assert.equal(stats.lagEvents, 0, 'every event was acknowledged before it stopped')
      const held = await reader.count(stream)
      const r = await f.call('POST', '/api/v1/entries/article', { body: { data: { title: 'while down' } } })
      assert.equal(r.status, 201)
      await new Promise((resolve) => setTimeout(resolve, 500))
      assert.equal(await reader.count(stream), held, 'nothing is published while the server is down')
      server = await serve(config())
      await waitUntil('the event written while down', () => inStream(held + 1))
      const messages = await reader.readAll(stream)
      assert.deepEqual(duplicateIds(messages), [])
      assert.equal(messages.length, (await allEvents(f)).length)
      const info = await reader.jsm.streams.info(stream)
      assert.deepEqual(info.config.subjects, [`${prefix}.>`], 'the existing stream is left as it was')
    })

    it('counts published events on /metrics', async () => {
      const res = await fetch(`${server!.url}/metrics`)
      const text = await res.text()
      const m = /^audited_nats_published_total\{duplicate="false"\} (\d+)$/m.exec(text)
      assert.ok(m !== null, 'the counter is exposed')
      assert.ok(Number(m[1]) >= 1)
      assert.match(text, /^audited_nats_publish_failures_total 0$/m)
    })
  })
