/**
 * R4 (issue 7): a record's history is paged (limit + cursor, oldest first) and `stateAt`
 * reads one event. Built on a record with 50,000 events, on every dialect: pages are
 * bounded in size, walking them returns every event once and in order, the HTTP routes
 * answer bounded bodies, and reading does not grow the heap with the history.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { CompiledQuery } from 'kysely'
import {
  type ChangeEvent,
  eventValues,
  type PendingEvent,
} from '../packages/audited/src/audit/change-event.js'
import { bindRows, EventStatements } from '../packages/audited/src/audit/statements.js'
import { createIdFactory } from '../packages/audited/src/core/ids.js'
import { entries } from '../packages/cms/src/cms/entities.js'
import { forEachHttpDialect, type HttpFixture } from './http-setup.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const EVENTS = 50_000
const RECORD = 'r4-big-record'
/** Event HLCs start here (2024-01-01T00:00:00Z), one millisecond apart. */
const START_MS = Date.UTC(2024, 0, 1)
const hlcOf = (i: number) => BigInt(START_MS + i) << 16n

/** Stores `EVENTS` update events of one entry directly, in multi-row INSERTs. */
async function buildHistory(f: HttpFixture): Promise<void> {
  const d = f.db.capabilities
  const st = new EventStatements(f.db.kysely, d)
  const newId = createIdFactory()
  const txId = newId()
  const pad = 'x'.repeat(200)
  for (let start = 0; start < EVENTS; start += st.maxRows) {
    const n = Math.min(st.maxRows, EVENTS - start)
    const rows = Array.from({ length: n }, (_, k) => {
      const i = start + k
      const e: PendingEvent = {
        eventId: newId(),
        hlcValue: hlcOf(i),
        wallDate: new Date(START_MS + i),
        wallTime: '',
        nodeId: 'bulk',
        tenantId: f.tenantId,
        txId,
        table: 'entries',
        recordId: RECORD,
        operation: i === 0 ? 'INSERT' : 'UPDATE',
        action: i === 0 ? 'create' : 'update',
        actorId: 'bulk-actor',
        actorType: 'system',
        oldValues: i === 0 ? null : { id: RECORD, n: i - 1, pad },
        newValues: { id: RECORD, n: i, pad },
        changedFields: i === 0 ? [] : ['n'],
        requestId: null,
        ip: null,
        userAgent: null,
        reason: null,
        metadata: null,
      }
      return eventValues(e, d.bigintParameter, d.toParameter)
    })
    const { sql, parameters } = bindRows(st.insert(n), rows)
    await f.db.kysely.executeQuery(CompiledQuery.raw(sql, [...parameters]))
  }
}

forEachHttpDialect('R4: paged history over 50,000 events', (f) => {
  it('R4: history pages are bounded and walk every event once, oldest first; stateAt reads one event', async () => {
    await buildHistory(f)
    const tenantId = f.tenantId
    const first = await f.auditor.events.history(entries, RECORD, { tenantId })
    assert.equal(first.events.length, 100, 'the default page is 100 events')
    assert.equal(first.hasMore, true)
    assert.equal(first.events[0]!.newValues!.n, 0)

    let seen = 0
    let previous: ChangeEvent | undefined
    let after: string | undefined
    for (;;) {
      const page = await f.auditor.events.history(entries, RECORD, {
        tenantId,
        limit: 1000,
        ...(after ? { after } : {}),
      })
      assert.ok(page.events.length <= 1000)
      for (const e of page.events) {
        assert.equal(e.newValues!.n, seen, 'oldest first, none skipped or repeated')
        if (previous !== undefined) assert.ok(BigInt(e.hlc) > BigInt(previous.hlc))
        previous = e
        seen++
      }
      after = page.nextCursor!
      if (!page.hasMore) break
    }
    assert.equal(seen, EVENTS)
    // After the last page: empty, and the cursor stays for polling.
    const tail = await f.auditor.events.history(entries, RECORD, { tenantId, after: after! })
    assert.deepEqual([tail.events.length, tail.hasMore, tail.nextCursor], [0, false, after])

    // stateAt: the newest event at or before the point, by HLC or date.
    const at = (i: number) => new Date(START_MS + i).toISOString()
    assert.equal((await f.auditor.events.stateAt(entries, RECORD, at(12_345), { tenantId }))!.n, 12_345)
    assert.equal(
      (await f.auditor.events.stateAt(entries, RECORD, hlcOf(EVENTS - 1), { tenantId }))!.n,
      EVENTS - 1,
    )
    assert.equal(await f.auditor.events.stateAt(entries, RECORD, hlcOf(0) - 1n, { tenantId }), null)
    // Another tenant sees none of it.
    assert.equal((await f.auditor.events.history(entries, RECORD, { tenantId: 'other' })).events.length, 0)
  })

  it('R4: reading pages and states does not grow the heap with the history', async () => {
    const tenantId = f.tenantId
    gc()
    const before = process.memoryUsage().heapUsed
    const kept: unknown[] = []
    for (let i = 0; i < 20; i++) {
      kept.push(await f.auditor.events.stateAt(entries, RECORD, hlcOf(EVENTS - 1 - i), { tenantId }))
      kept.push((await f.auditor.events.history(entries, RECORD, { tenantId, limit: 10 })).events)
    }
    gc()
    const grown = process.memoryUsage().heapUsed - before
    // The whole history decoded is > 25 MB; 20 states and 20 small pages are well under 4 MB.
    assert.ok(grown < 4 * 1024 * 1024, `heap grew by ${grown} bytes`)
    assert.equal(kept.length, 40)
  })

  it('R4: GET /audit/history pages with ?limit=&after= and answers nextCursor; /audit/state answers one state', async () => {
    const url = `/api/v1/audit/history/entries/${RECORD}`
    const first = await f.call('GET', url)
    assert.equal(first.status, 200)
    assert.equal(first.body.items.length, 100)
    assert.equal(typeof first.body.nextCursor, 'string')
    assert.equal(first.body.hasMore, true)
    const bytes = JSON.stringify(first.body).length
    assert.ok(bytes < 100 * 1024, `a default page is small (${bytes} bytes)`)

    const second = await f.call('GET', `${url}?limit=1000&after=${first.body.nextCursor}`)
    assert.equal(second.status, 200)
    assert.equal(second.body.items.length, 1000)
    assert.equal(second.body.items[0].newValues.n, 100)
    const last = await f.call('GET', `${url}?limit=5&after=${cursorAfter(49_994)}`)
    assert.deepEqual(
      last.body.items.map((e: ChangeEvent) => e.newValues!.n),
      [49_995, 49_996, 49_997, 49_998, 49_999],
    )
    assert.equal(last.body.hasMore, false)

    for (const bad of ['?limit=0', '?limit=1001', '?limit=x', '?after=not-a-cursor']) {
      const res = await f.call('GET', `${url}${bad}`)
      assert.equal(res.status, 400, bad)
    }
    assert.equal((await f.call('GET', '/api/v1/audit/history/entries/never-existed')).status, 404)

    const state = await f.call('GET', `/api/v1/audit/state/entries/${RECORD}?at=${hlcOf(777)}`)
    assert.equal(state.status, 200)
    assert.equal(state.body.state.n, 777)
    const before = await f.call('GET', `/api/v1/audit/state/entries/${RECORD}?at=2023-06-01`)
    assert.deepEqual([before.status, before.body.state], [200, null])
    assert.equal((await f.call('GET', '/api/v1/audit/state/entries/never-existed?at=2024-06-01')).status, 404)
  })
})

/** A cursor just after event `n` (the encoding `nextCursor` uses: `<hlc>.<eventId>`, base64url):
 * the greatest event id, so every event of that HLC sorts at or before it. */
function cursorAfter(n: number): string {
  return Buffer.from(`${hlcOf(n)}.${'Z'.repeat(26)}`, 'utf8').toString('base64url')
}
