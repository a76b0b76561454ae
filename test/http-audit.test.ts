import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import type { ChangeEvent } from '../packages/audited/src/audit/change-event.js'
import { CSV_COLUMNS } from '../packages/audited/src/audit/event-export.js'
import type { AuditContext } from '../packages/audited/src/core/audit-context.js'
import { locales, tenants } from '../packages/cms/src/cms/entities.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { apiToken, forEachHttpDialect, type HttpFixture } from './http-setup.js'

async function newTenant(f: HttpFixture, name: string): Promise<string> {
  const id = newRecordId()
  const now = new Date()
  const ctx: AuditContext = { tenantId: id, actorId: 'test-setup', actorType: 'system' }
  await f.auditor.create(tenants, { id, name, limits: null, created_at: now, updated_at: now }, ctx)
  return id
}

/** Every event of the calling tenant, following `nextCursor` page by page over HTTP. */
async function allEvents(f: HttpFixture, query = '', limit = 1000, token?: string): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = []
  let after = ''
  for (;;) {
    const res = await f.call('GET', `/api/v1/audit/events?limit=${limit}${query}${after}`, { token })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    out.push(...res.body.items)
    if (res.body.items.length === 0) return out
    after = `&after=${encodeURIComponent(res.body.nextCursor)}`
  }
}

/** Strictly increasing (hlc, eventId): HLC order without duplicates. */
function assertHlcOrder(events: readonly ChangeEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1]!
    const b = events[i]!
    const ha = BigInt(a.hlc)
    const hb = BigInt(b.hlc)
    assert.ok(ha < hb || (ha === hb && a.eventId < b.eventId), `event ${i} is out of order`)
  }
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF or LF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (c === '"') quoted = false
      else field += c
    } else if (c === '"') quoted = true
    else if (c === ',') {
      row.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(field)
      rows.push(row)
      row = []
      field = ''
    } else field += c
  }
  if (field !== '' || row.length > 0) rows.push([...row, field])
  return rows
}

/** A CSV row back to the API's event shape (JSON columns parsed, empty fields → null). */
function csvToEvent(header: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const json = new Set(['oldValues', 'newValues', 'changedFields', 'metadata'])
  const out: Record<string, unknown> = {}
  header.forEach((column, i) => {
    const cell = cells[i] ?? ''
    out[column] = cell === '' ? null : json.has(column) ? JSON.parse(cell) : cell
  })
  return out
}

async function countRows(f: HttpFixture, table: string): Promise<number> {
  const row = await f.db.readKysely
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

const WEBHOOK = { url: 'https://hooks.example.test/a', events: ['entry.published'] }

forEachHttpDialect('http audit and assets', (f) => {
  const t = { auditor: '', viewer: '', editor: '', otherAdmin: '', otherTenant: '' }
  const hook = { id: '', secret: '', urls: [] as string[] }

  before(async () => {
    t.auditor = await apiToken(f, f.tenantId, 'auditor')
    t.viewer = await apiToken(f, f.tenantId, 'viewer')
    t.editor = await apiToken(f, f.tenantId, 'editor')
    t.otherTenant = await newTenant(f, 'second')
    t.otherAdmin = await apiToken(f, t.otherTenant, 'admin')
  })

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
    assert.match(w.body.secret, /^whsec_[A-Za-z0-9_-]{43}$/)
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

  it('lists events with filters and cursor pagination: HLC order, no duplicates', async () => {
    const all = await allEvents(f)
    assert.ok(all.length >= 10)
    assertHlcOrder(all)
    assert.ok(all.every((e) => e.tenantId === f.tenantId))
    const paged = await allEvents(f, '', 2)
    assert.deepEqual(
      paged.map((e) => e.eventId),
      all.map((e) => e.eventId),
    )
    assert.equal(new Set(paged.map((e) => e.eventId)).size, paged.length)

    const hooks = await allEvents(f, '&table=webhooks', 1)
    assert.deepEqual(
      hooks.map((e) => e.action),
      ['create', 'update', 'update', 'restore'],
    )
    const creates = await allEvents(f, '&action=create&table=locales')
    assert.deepEqual(
      creates.map((e) => e.newValues?.code),
      ['en', 'en-US'],
    )
    const byRecord = await allEvents(f, `&table=webhooks&recordId=${hook.id}`)
    assert.equal(byRecord.length, 4)
    // a record is (table, id): the id alone would scan the whole tenant's log
    const alone = await f.call('GET', `/api/v1/audit/events?recordId=${hook.id}`)
    assert.equal(alone.status, 400)
    assert.equal(alone.body.error.code, 'validation')
    assert.equal(alone.body.error.details.field, 'table')
    const editor = await allEvents(
      f,
      `&actorId=${encodeURIComponent(all.find((e) => e.table === 'media')!.actorId)}`,
    )
    assert.deepEqual(
      editor.map((e) => e.table),
      ['media'],
    )
    const from = hooks[1]!.hlc
    const to = hooks[2]!.hlc
    const window = await allEvents(f, `&from=${from}&to=${to}`)
    assert.deepEqual(
      window.map((e) => e.eventId),
      all.filter((e) => BigInt(e.hlc) >= BigInt(from) && BigInt(e.hlc) <= BigInt(to)).map((e) => e.eventId),
    )
    const future = await f.call('GET', '/api/v1/audit/events?from=2999-01-01')
    assert.deepEqual(future.body.items, [])

    const one = await f.call('GET', `/api/v1/audit/events/${hooks[0]!.eventId}`, { token: t.auditor })
    assert.equal(one.status, 200)
    assert.deepEqual(one.body, hooks[0])
    assert.equal((await f.call('GET', `/api/v1/audit/events/${newRecordId()}`)).status, 404)
    assert.equal((await f.call('GET', '/api/v1/audit/events/not-an-id')).status, 400)
  })

  it('bad cursors, limits, dates and unknown parameters are 400', async () => {
    for (const query of [
      'after=bm90LWEtY3Vyc29y',
      'after=%25%25%25',
      'limit=0',
      'limit=1001',
      'limit=ten',
      'from=tomorrow',
      'to=2024-02-30x',
      'action=explode',
      'colour=red',
    ]) {
      const res = await f.call('GET', `/api/v1/audit/events?${query}`)
      assert.equal(res.status, 400, query)
      assert.equal(res.body.error.code, 'validation', query)
    }
    const badExport = await f.call('GET', '/api/v1/audit/export?format=xml')
    assert.equal(badExport.status, 400)
    const badExportDate = await f.call('GET', '/api/v1/audit/export?from=2024-99-99')
    assert.equal(badExportDate.status, 400)
    assert.equal(badExportDate.body.error.code, 'validation')
  })

  it('exports ndjson and csv across several pages, equal to the list; CSV quoting', async () => {
    const tricky = 'Deutsch, "Standard"\nzweite Zeile'
    const agent = 'Tester/1.0 (x, "y")'
    const de = await f.call('POST', '/api/v1/locales', {
      body: { code: 'de', name: tricky },
      headers: { 'user-agent': agent },
    })
    assert.equal(de.status, 201)
    // More than one export page (1000 events) without 1000 HTTP calls.
    const reason = 'bulk load,\n"seed"'
    const ctx: AuditContext = { tenantId: f.tenantId, actorId: 'bulk', actorType: 'system', reason }
    const now = new Date()
    const bulk = Array.from({ length: 1005 }, (_, i) => ({
      id: newRecordId(),
      code: `x${i}`,
      name: `bulk ${i}`,
      created_at: now,
      updated_at: now,
    }))
    await f.auditor.createMany(locales, bulk, ctx)
    const all = await allEvents(f)
    assert.ok(all.length > 1000)

    const nd = await f.call('GET', '/api/v1/audit/export?format=ndjson', { token: t.auditor })
    assert.equal(nd.status, 200)
    assert.match(String(nd.headers['content-type']), /^application\/x-ndjson/)
    assert.match(
      String(nd.headers['content-disposition']),
      /^attachment; filename="audit-events-.*\.ndjson"$/,
    )
    // f.call parses a one-line body as JSON; an export is always text here (> 1 line).
    const lines = String(nd.body).trimEnd().split('\n')
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      all,
    )

    const csv = await f.call('GET', '/api/v1/audit/export?format=csv')
    assert.equal(csv.status, 200)
    assert.match(String(csv.headers['content-type']), /^text\/csv/)
    assert.match(String(csv.headers['content-disposition']), /^attachment; filename=".*\.csv"$/)
    const text = String(csv.body)
    // Plain columns with a comma, quotes and a line break are quoted, quotes doubled.
    assert.ok(text.includes(',"Tester/1.0 (x, ""y"")",'), 'user agent quoted')
    assert.ok(text.includes(',"bulk load,\n""seed""",'), 'reason quoted across a line break')
    const [header, ...rows] = parseCsv(text)
    assert.deepEqual(header, [...CSV_COLUMNS])
    assert.equal(rows.length, all.length)
    assert.deepEqual(
      rows.map((r) => csvToEvent(header!, r)),
      all,
    )
    const deEvent = rows.map((r) => csvToEvent(header!, r)).find((e) => e.recordId === de.body.id)
    assert.equal(deEvent?.userAgent, agent)
    assert.equal((deEvent?.newValues as { name?: string } | undefined)?.name, tricky)

    const windowed = await f.call('GET', `/api/v1/audit/export?from=${all[1]!.hlc}&to=${all[2]!.hlc}`)
    assert.deepEqual(
      String(windowed.body)
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).eventId),
      [all[1]!.eventId, all[2]!.eventId],
    )
  })

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
      ['POST', '/api/v1/webhooks', { ...WEBHOOK, events: 'entry.published' }],
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
})
