/** Helpers of the audit and assets scenario: tenants, event pages, HLC order, CSV, row counts, shared state. */
import assert from 'node:assert/strict'
import type { ChangeEvent } from '../packages/audited/src/audit/change-event.js'
import type { AuditContext } from '../packages/audited/src/core/audit-context.js'
import { tenants } from '../packages/cms/src/cms/entities.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import type { HttpFixture } from './http-setup.js'

export async function newTenant(f: HttpFixture, name: string): Promise<string> {
  const id = newRecordId()
  const now = new Date()
  const ctx: AuditContext = { tenantId: id, actorId: 'test-setup', actorType: 'system' }
  await f.auditor.create(tenants, { id, name, limits: null, created_at: now, updated_at: now }, ctx)
  return id
}

/** Every event of the calling tenant, following `nextCursor` page by page over HTTP. */
export async function allEvents(
  f: HttpFixture,
  query = '',
  limit = 1000,
  token?: string,
): Promise<ChangeEvent[]> {
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
export function assertHlcOrder(events: readonly ChangeEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1]!
    const b = events[i]!
    const ha = BigInt(a.hlc)
    const hb = BigInt(b.hlc)
    assert.ok(ha < hb || (ha === hb && a.eventId < b.eventId), `event ${i} is out of order`)
  }
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
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
export function csvToEvent(header: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const json = new Set(['oldValues', 'newValues', 'changedFields', 'metadata'])
  const out: Record<string, unknown> = {}
  header.forEach((column, i) => {
    const cell = cells[i] ?? ''
    out[column] = cell === '' ? null : json.has(column) ? JSON.parse(cell) : cell
  })
  return out
}

export async function countRows(f: HttpFixture, table: string): Promise<number> {
  const row = await f.db.readKysely
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export const WEBHOOK = { url: 'https://hooks.example.test/a', events: ['entries.publish'] }

/** Tokens made in the suite's `before`. */
export interface ScenarioTokens {
  auditor: string
  viewer: string
  editor: string
  otherAdmin: string
  otherTenant: string
}

/** The webhook the scenario follows from creation to deletion. */
export interface ScenarioHook {
  id: string
  secret: string
  urls: string[]
}
