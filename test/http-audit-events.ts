/** Audit scenario, part 2: listing events with filters and cursors, bad parameters, ndjson and CSV export.
 * Registered in order by test/http-audit.test.ts; the steps share one database and build on each other. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { CSV_COLUMNS } from '../packages/audited/src/audit/event-export.js'
import type { AuditContext } from '../packages/audited/src/core/audit-context.js'
import { locales } from '../packages/cms/src/cms/entities.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import {
  allEvents,
  assertHlcOrder,
  csvToEvent,
  parseCsv,
  type ScenarioHook,
  type ScenarioTokens,
} from './http-audit-support.js'
import type { HttpFixture } from './http-setup.js'

export function eventSteps(f: HttpFixture, t: ScenarioTokens, hook: ScenarioHook): void {
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
}
