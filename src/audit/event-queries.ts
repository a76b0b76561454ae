import { sql } from 'kysely'
import { AuditedError } from '../core/errors.js'
import { hlcAtEndOf, hlcAtStartOf, parseHlc } from '../core/hlc.js'
import { type ChangeEvent, eventFromRow, type JsonObject } from './change-event.js'
import type { EngineCore } from './engine-core.js'
import type { Entity } from './entity.js'
import { eventSelection } from './statements.js'

/** A point in time: a Date, or an HLC (bigint or decimal string). */
export type PointInTime = Date | bigint | string

export interface ListEventsQuery {
  readonly tenantId?: string | null
  readonly table?: string
  readonly recordId?: string
  readonly actorId?: string
  readonly action?: string
  /** Inclusive lower bound. */
  readonly from?: PointInTime
  /** Inclusive upper bound. */
  readonly to?: PointInTime
  /** The `nextCursor` of the previous page. */
  readonly after?: string
  /** Page size, 1 to 1000 (default 100). */
  readonly limit?: number
}

export interface EventPage {
  readonly events: ChangeEvent[]
  /** Pass as `after` to continue after this page (also to poll for newer events at the
   * tail); `null` only when nothing has been read yet. */
  readonly nextCursor: string | null
  /** More events are readable right now. */
  readonly hasMore: boolean
}

const CURSOR = /^(\d{1,19})\.([0-9A-HJKMNP-TV-Z]{26})$/

function toHlc(point: PointInTime, edge: 'start' | 'end', field: string): bigint {
  if (point instanceof Date) {
    if (Number.isNaN(point.getTime())) throw new AuditedError('validation', `${field} is not a valid date.`)
    return edge === 'start' ? hlcAtStartOf(point) : hlcAtEndOf(point)
  }
  if (typeof point === 'bigint') return point
  if (typeof point === 'string') {
    if (/^\d+$/.test(point)) return parseHlc(point)
    const date = new Date(point)
    if (!Number.isNaN(date.getTime()) && /^\d{4}-\d\d-\d\d/.test(point)) return toHlc(date, edge, field)
  }
  throw new AuditedError('validation', `${field} must be a Date, an ISO date or an HLC.`, {
    details: { field },
  })
}

function decodeCursor(cursor: string): { hlc: bigint; eventId: string } {
  const decoded = typeof cursor === 'string' ? Buffer.from(cursor, 'base64url').toString('utf8') : ''
  const m = CURSOR.exec(decoded)
  if (m === null)
    throw new AuditedError('validation', 'The cursor is malformed.', { details: { field: 'after' } })
  return { hlc: parseHlc(m[1]!), eventId: m[2]! }
}

function encodeCursor(event: ChangeEvent): string {
  return Buffer.from(`${event.hlc}.${event.eventId}`, 'utf8').toString('base64url')
}

/**
 * Reads of the change-event table. Every query is served by an index created in the
 * first migration (record history, tenant timeline, actor activity, global cursor).
 */
export class EventQueries {
  readonly #core: EngineCore

  constructor(core: EngineCore) {
    this.#core = core
  }

  /**
   * Events in HLC order, with keyset pagination. A page never reaches past the ordering
   * horizon (see `OpenTransactions`), so following `nextCursor` never skips an event that
   * commits late with an earlier HLC.
   *
   * @example
   * let page = await auditor.events.list({ tenantId: 'acme', table: 'posts', limit: 50 })
   * while (page.nextCursor) page = await auditor.events.list({ tenantId: 'acme', after: page.nextCursor })
   */
  async list(query: ListEventsQuery = {}): Promise<EventPage> {
    const limit = query.limit ?? 100
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new AuditedError('validation', 'limit must be an integer from 1 to 1000.', {
        details: { field: 'limit' },
      })
    }
    for (const key of ['table', 'recordId', 'actorId', 'action'] as const) {
      const v = query[key]
      if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > 255)) {
        throw new AuditedError('validation', `${key} must be a non-empty string.`, {
          details: { field: key },
        })
      }
    }
    const d = this.#core.dialect
    const big = (v: bigint) => sql`${d.bigintParameter(v)}`
    const horizon = this.#core.open.horizon()
    let q = this.#core.readKysely.selectFrom('change_events').select(eventSelection(d))
    if (query.tenantId !== undefined) {
      q =
        query.tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', query.tenantId)
    }
    if (query.table !== undefined) q = q.where('table_name', '=', query.table)
    if (query.recordId !== undefined) q = q.where('record_id', '=', query.recordId)
    if (query.actorId !== undefined) q = q.where('actor_id', '=', query.actorId)
    if (query.action !== undefined) q = q.where('action', '=', query.action)
    if (query.from !== undefined)
      q = q.where('change_events.hlc', '>=', big(toHlc(query.from, 'start', 'from')))
    const to = query.to === undefined ? horizon : toHlc(query.to, 'end', 'to')
    q = q.where('change_events.hlc', '<=', big(to < horizon ? to : horizon))
    if (query.after !== undefined) {
      const c = decodeCursor(query.after)
      q = q.where((eb) =>
        eb.or([
          eb('change_events.hlc', '>', big(c.hlc)),
          eb.and([eb('change_events.hlc', '=', big(c.hlc)), eb('event_id', '>', c.eventId)]),
        ]),
      )
    }
    const rows = await q
      .orderBy('change_events.hlc')
      .orderBy('event_id')
      .limit(limit + 1)
      .execute()
    const events = rows.slice(0, limit).map(eventFromRow)
    const last = events.at(-1)
    return {
      events,
      nextCursor: last !== undefined ? encodeCursor(last) : (query.after ?? null),
      hasMore: rows.length > limit,
    }
  }

  /** One event by id (within the tenant when given), or `not_found`. */
  async get(eventId: string, options: { tenantId?: string | null } = {}): Promise<ChangeEvent> {
    if (typeof eventId !== 'string' || !/^[0-9A-HJKMNP-TV-Z]{26}$/.test(eventId)) {
      throw new AuditedError('validation', 'eventId must be an event id (a ULID).')
    }
    let q = this.#core.readKysely
      .selectFrom('change_events')
      .select(eventSelection(this.#core.dialect))
      .where('event_id', '=', eventId)
    if (options.tenantId !== undefined) {
      q =
        options.tenantId === null
          ? q.where('tenant_id', 'is', null)
          : q.where('tenant_id', '=', options.tenantId)
    }
    const row = await q.executeTakeFirst()
    if (row === undefined)
      throw new AuditedError('not_found', 'No event with that id.', { details: { eventId } })
    return eventFromRow(row)
  }

  /** Every event of one record, oldest first. Per record, HLC order is commit order: each
   * write holds the record's row lock while it takes its HLC. */
  async history(entity: Entity<object>, id: string | number, options: { tenantId?: string | null } = {}) {
    return this.#recordEvents(entity, id, options.tenantId, undefined)
  }

  /**
   * The record as it was at `at` (an HLC or a Date): the state after the last event at or
   * before it, `null` if it did not exist then. Redacted fields read as masked.
   */
  async stateAt(
    entity: Entity<object>,
    id: string | number,
    at: PointInTime,
    options: { tenantId?: string | null } = {},
  ): Promise<JsonObject | null> {
    const events = await this.#recordEvents(entity, id, options.tenantId, toHlc(at, 'end', 'at'), 1)
    return events[0]?.newValues ?? null
  }

  async #recordEvents(
    entity: Entity<object>,
    id: string | number,
    tenantId: string | null | undefined,
    atOrBefore: bigint | undefined,
    newestOnly?: number,
  ): Promise<ChangeEvent[]> {
    if (!((typeof id === 'string' && id.length > 0) || Number.isSafeInteger(id))) {
      throw new AuditedError('validation', 'A record id must be a non-empty string or a safe integer.')
    }
    const d = this.#core.dialect
    let q = this.#core.readKysely
      .selectFrom('change_events')
      .select(eventSelection(d))
      .where('table_name', '=', entity.table)
      .where('record_id', '=', String(id))
    if (tenantId !== undefined) {
      q = tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', tenantId)
    }
    if (atOrBefore !== undefined)
      q = q.where('change_events.hlc', '<=', sql`${d.bigintParameter(atOrBefore)}`)
    const direction = newestOnly === undefined ? 'asc' : 'desc'
    let ordered = q.orderBy('change_events.hlc', direction).orderBy('event_id', direction)
    if (newestOnly !== undefined) ordered = ordered.limit(newestOnly)
    return (await ordered.execute()).map(eventFromRow)
  }
}
