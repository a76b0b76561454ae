import { type AliasedRawBuilder, sql } from 'kysely'
import { AuditedError } from '../core/errors.js'
import { hlcAtEndOf, hlcAtStartOf, parseHlc } from '../core/hlc.js'
import { parseIsoDate } from '../core/iso-date.js'
import { textProblem } from '../core/text-rules.js'
import type { Dialect } from '../db/dialect.js'
import { openEvents } from '../privacy/open-events.js'
import {
  type ChangeEvent,
  eventFromPackedRow,
  eventFromRow,
  JSON_EVENT_COLUMNS,
  type JsonObject,
  PACKED_COLUMNS,
} from './change-event.js'
import type { EngineCore } from './engine-core.js'
import type { Entity } from './entity.js'
import { ReadTemplates } from './read-templates.js'
import { eventSelection, slot } from './statements.js'

/** Ids per `events.getMany` call. */
export const GET_MANY_MAX = 500

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
  /** `asc` (default): oldest first, `after` continues with newer events; `desc`: newest
   * first, `after` (a cursor of a `desc` page) continues with older events. */
  readonly order?: 'asc' | 'desc'
  /** The events as stored — personal values still encrypted, the form their Merkle leaves
   * hash — instead of opened for a reader (archivers; default false). */
  readonly stored?: boolean
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

/** A point in time as an HLC bound; `field` names it in the `validation` error. */
export function toHlc(point: PointInTime, edge: 'start' | 'end', field: string): bigint {
  if (point instanceof Date) {
    if (Number.isNaN(point.getTime()))
      throw new AuditedError('validation', `${field} is not a valid date.`, { details: { field } })
    return edge === 'start' ? hlcAtStartOf(point) : hlcAtEndOf(point)
  }
  if (typeof point === 'bigint') return point
  if (typeof point === 'string') {
    if (/^\d+$/.test(point)) return parseHlc(point)
    const date = parseIsoDate(point)
    if (date !== undefined) return toHlc(date, edge, field)
  }
  throw new AuditedError('validation', `${field} must be a Date, an ISO date that exists or an HLC.`, {
    details: { field },
  })
}

/** A page size: 1 to 1000, default 100. */
export function checkLimit(value: number | undefined): number {
  const limit = value ?? 100
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new AuditedError('validation', 'limit must be an integer from 1 to 1000.', {
      details: { field: 'limit' },
    })
  }
  return limit
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

/** The columns of an event read: plain (`eventFromRow`) or packed (`eventFromPackedRow`). */
export function readSelection(d: Dialect): AliasedRawBuilder<unknown, string>[] {
  const pack = d.packRowFunction
  if (pack === undefined) return eventSelection(d)
  const items = PACKED_COLUMNS.map((c) => (c === 'hlc' ? sql.raw(d.bigintAsText('hlc')) : sql.ref(c)))
  return [
    sql<string>`${sql.raw(pack)}(${sql.join(items)})`.as('packed'),
    ...JSON_EVENT_COLUMNS.map((c) => sql.ref(c).as(c)),
  ]
}

/** At most this many compiled shapes are kept (a list has at most 3 × 2^7 × 2 of them). */
const MAX_TEMPLATES = 500

/**
 * Reads of the change-event table. Every query is served by an index created in the
 * first migration (record history, tenant timeline, actor activity, global cursor).
 */
export class EventQueries {
  readonly #core: EngineCore
  readonly #reads: ReadTemplates
  readonly #decode: (row: Record<string, unknown>) => ChangeEvent

  constructor(core: EngineCore) {
    this.#core = core
    this.#reads = new ReadTemplates(core.readKysely, MAX_TEMPLATES)
    this.#decode = core.dialect.packRowFunction === undefined ? eventFromRow : eventFromPackedRow
  }

  /**
   * Events in HLC order, with keyset pagination: every committed event shows at once. To
   * follow the log without ever skipping one (a transaction that commits late with an
   * earlier HLC lands behind a cursor already handed out), read `auditor.feed` instead.
   *
   * @example
   * let page = await auditor.events.list({ tenantId: 'acme', table: 'posts', limit: 50 })
   * while (page.nextCursor) page = await auditor.events.list({ tenantId: 'acme', after: page.nextCursor })
   */
  async list(query: ListEventsQuery = {}): Promise<EventPage> {
    const limit = checkLimit(query.limit)
    for (const key of ['table', 'recordId', 'actorId', 'action'] as const) {
      const v = query[key]
      if (
        v !== undefined &&
        (typeof v !== 'string' || v.length === 0 || v.length > 255 || textProblem(v) !== undefined)
      ) {
        throw new AuditedError('validation', `${key} must be a non-empty string.`, {
          details: { field: key },
        })
      }
    }
    if (query.recordId !== undefined && query.table === undefined) {
      // A record is (table, id); the index that serves record filters starts with the table.
      throw new AuditedError('validation', 'recordId needs table.', { details: { field: 'table' } })
    }
    const order = query.order ?? 'asc'
    if (order !== 'asc' && order !== 'desc')
      throw new AuditedError('validation', 'order must be asc or desc.', { details: { field: 'order' } })
    const d = this.#core.dialect
    const big = (v: bigint) => d.bigintParameter(v)
    // Validated in this order: from, to, after.
    const from = query.from === undefined ? undefined : big(toHlc(query.from, 'start', 'from'))
    const to = query.to === undefined ? undefined : big(toHlc(query.to, 'end', 'to'))
    const args: Record<string, unknown> = {
      tenant: query.tenantId,
      table: query.table,
      recordId: query.recordId,
      actorId: query.actorId,
      action: query.action,
      from,
      to,
      limit: limit + 1,
    }
    if (query.after !== undefined) {
      const c = decodeCursor(query.after)
      args.afterHlc = big(c.hlc)
      args.afterId = c.eventId
    }
    const tenant = query.tenantId === undefined ? 'any' : query.tenantId === null ? 'null' : 'one'
    const present = (key: string) => (args[key] === undefined ? 0 : 1)
    const shape = `list:${tenant}:${present('table')}${present('recordId')}${present('actorId')}${present('action')}${present('from')}${present('to')}${present('afterId')}:${order}`
    const template = this.#reads.template(shape, () => {
      const param = (name: string) => sql`${slot(name)}`
      let q = this.#core.readKysely.selectFrom('change_events').select(readSelection(d))
      if (tenant === 'null') q = q.where('tenant_id', 'is', null)
      else if (tenant === 'one') q = q.where('tenant_id', '=', slot('tenant'))
      if (args.table !== undefined) q = q.where('table_name', '=', slot('table'))
      if (args.recordId !== undefined) q = q.where('record_id', '=', slot('recordId'))
      if (args.actorId !== undefined) q = q.where('actor_id', '=', slot('actorId'))
      if (args.action !== undefined) q = q.where('action', '=', slot('action'))
      if (args.from !== undefined) q = q.where('change_events.hlc', '>=', param('from'))
      if (args.to !== undefined) q = q.where('change_events.hlc', '<=', param('to'))
      if (args.afterId !== undefined && order === 'desc') {
        // Newest first: strictly before the cursor, with the same plain range for the index.
        q = q.where('change_events.hlc', '<=', param('afterHlc'))
        q = q.where((eb) =>
          eb.or([
            eb('change_events.hlc', '<', param('afterHlc')),
            eb.and([eb('change_events.hlc', '=', param('afterHlc')), eb('event_id', '<', slot('afterId'))]),
          ]),
        )
      } else if (args.afterId !== undefined) {
        // The bound `hlc >= after` is implied by the keyset condition below, but only as a
        // plain range can an index seek to it: without it SQLite and PostgreSQL scan from
        // the first event (at 1M events a page deep in the log took 16–42 ms on SQLite and
        // 0.9 s on PostgreSQL instead of ~0.2 ms).
        q = q.where('change_events.hlc', '>=', param('afterHlc'))
        q = q.where((eb) =>
          eb.or([
            eb('change_events.hlc', '>', param('afterHlc')),
            eb.and([eb('change_events.hlc', '=', param('afterHlc')), eb('event_id', '>', slot('afterId'))]),
          ]),
        )
      }
      return q
        .orderBy('change_events.hlc', order)
        .orderBy('event_id', order)
        .limit(slot('limit') as unknown as number)
    })
    const rows = await this.#reads.run(template, args)
    const page = rows.slice(0, limit).map(this.#decode)
    const events = query.stored === true ? page : await openEvents(this.#core.subjectKeys, page)
    const last = events.at(-1)
    return {
      events,
      nextCursor: last !== undefined ? encodeCursor(last) : (query.after ?? null),
      hasMore: rows.length > limit,
    }
  }

  /** One event by id (within the tenant when given), or `not_found`; `stored`: as stored
   * (see `ListEventsQuery.stored`). */
  async get(
    eventId: string,
    options: { tenantId?: string | null; stored?: boolean } = {},
  ): Promise<ChangeEvent> {
    if (typeof eventId !== 'string' || !/^[0-9A-HJKMNP-TV-Z]{26}$/.test(eventId)) {
      throw new AuditedError('validation', 'eventId must be an event id (a ULID).')
    }
    const tenantId = options.tenantId
    const tenant = tenantId === undefined ? 'any' : tenantId === null ? 'null' : 'one'
    const template = this.#reads.template(`get:${tenant}`, () => {
      let q = this.#core.readKysely
        .selectFrom('change_events')
        .select(readSelection(this.#core.dialect))
        .where('event_id', '=', slot('eventId'))
      if (tenant === 'null') q = q.where('tenant_id', 'is', null)
      else if (tenant === 'one') q = q.where('tenant_id', '=', slot('tenant'))
      return q
    })
    const row = (await this.#reads.run(template, { eventId, tenant: tenantId }))[0]
    if (row === undefined)
      throw new AuditedError('not_found', 'No event with that id.', { details: { eventId } })
    if (options.stored === true) return this.#decode(row)
    return (await openEvents(this.#core.subjectKeys, [this.#decode(row)]))[0]!
  }

  /** Events by id (at most GET_MANY_MAX; within the tenant when given), in no particular order;
   * ids with no event are left out. `stored`: as stored (see `ListEventsQuery.stored`). */
  async getMany(
    eventIds: readonly string[],
    options: { tenantId?: string | null; stored?: boolean } = {},
  ): Promise<ChangeEvent[]> {
    if (
      !Array.isArray(eventIds) ||
      eventIds.length > GET_MANY_MAX ||
      !eventIds.every((id) => typeof id === 'string' && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id))
    ) {
      throw new AuditedError('validation', `eventIds must be at most ${GET_MANY_MAX} event ids (ULIDs).`)
    }
    if (eventIds.length === 0) return []
    const ids = [...new Set(eventIds)]
    const tenantId = options.tenantId
    const tenant = tenantId === undefined ? 'any' : tenantId === null ? 'null' : 'one'
    const template = this.#reads.template(`many:${tenant}:${ids.length}`, () => {
      let q = this.#core.readKysely
        .selectFrom('change_events')
        .select(readSelection(this.#core.dialect))
        .where(
          'event_id',
          'in',
          ids.map((_, i) => slot(`e${i}`)),
        )
      if (tenant === 'null') q = q.where('tenant_id', 'is', null)
      else if (tenant === 'one') q = q.where('tenant_id', '=', slot('tenant'))
      return q
    })
    const args: Record<string, unknown> = { tenant: tenantId }
    ids.forEach((id, i) => {
      args[`e${i}`] = id
    })
    const events = (await this.#reads.run(template, args)).map(this.#decode)
    return options.stored === true ? events : openEvents(this.#core.subjectKeys, events)
  }

  /**
   * One page of a record's events, oldest first (`limit` 1 to 1000, default 100; `after`
   * the previous page's `nextCursor`). Per record, HLC order is commit order — each write
   * holds the record's row lock while it takes its HLC — so a later event of the record
   * always sorts after every cursor already handed out, and no page skips one.
   *
   * @example
   * let page = await auditor.events.history(posts, 'p1', { tenantId: 'acme' })
   * while (page.hasMore) page = await auditor.events.history(posts, 'p1', { tenantId: 'acme', after: page.nextCursor! })
   */
  async history(
    entity: Entity<object>,
    id: string | number,
    options: { tenantId?: string | null; limit?: number; after?: string } = {},
  ): Promise<EventPage> {
    const limit = checkLimit(options.limit)
    const after = options.after === undefined ? undefined : decodeCursor(options.after)
    const rows = await this.#recordEvents(entity, id, options.tenantId, { after, limit: limit + 1 })
    const events = await openEvents(this.#core.subjectKeys, rows.slice(0, limit))
    const last = events.at(-1)
    return {
      events,
      nextCursor: last !== undefined ? encodeCursor(last) : (options.after ?? null),
      hasMore: rows.length > limit,
    }
  }

  /**
   * The record as it was at `at` (an HLC or a Date): the state after the last event at or
   * before it, `null` if it did not exist then. Redacted fields read as masked. One query,
   * served by the record index: the newest event at or before `at`.
   */
  async stateAt(
    entity: Entity<object>,
    id: string | number,
    at: PointInTime,
    options: { tenantId?: string | null } = {},
  ): Promise<JsonObject | null> {
    const atOrBefore = toHlc(at, 'end', 'at')
    const events = await openEvents(
      this.#core.subjectKeys,
      await this.#recordEvents(entity, id, options.tenantId, { atOrBefore, limit: 1 }),
    )
    return events[0]?.newValues ?? null
  }

  /** A record's events: oldest first after a cursor, or newest first at or before a point. */
  async #recordEvents(
    entity: Entity<object>,
    id: string | number,
    tenantId: string | null | undefined,
    range:
      | { readonly after: { hlc: bigint; eventId: string } | undefined; readonly limit: number }
      | { readonly atOrBefore: bigint; readonly limit: number },
  ): Promise<ChangeEvent[]> {
    if (
      !(
        (typeof id === 'string' && id.length > 0 && textProblem(id) === undefined) ||
        Number.isSafeInteger(id)
      )
    ) {
      throw new AuditedError('validation', 'A record id must be a non-empty string or a safe integer.')
    }
    const d = this.#core.dialect
    const tenant = tenantId === undefined ? 'any' : tenantId === null ? 'null' : 'one'
    const newest = 'atOrBefore' in range
    const after = newest ? undefined : range.after
    const shape = `record:${tenant}:${newest ? 'at' : after === undefined ? 'first' : 'after'}`
    const template = this.#reads.template(shape, () => {
      const param = (name: string) => sql`${slot(name)}`
      let q = this.#core.readKysely
        .selectFrom('change_events')
        .select(readSelection(d))
        .where('table_name', '=', slot('table'))
        .where('record_id', '=', slot('recordId'))
      if (tenant === 'null') q = q.where('tenant_id', 'is', null)
      else if (tenant === 'one') q = q.where('tenant_id', '=', slot('tenant'))
      if (newest) q = q.where('change_events.hlc', '<=', param('at'))
      if (after !== undefined) {
        // The plain range lets the record index seek to the cursor (see `list`).
        q = q.where('change_events.hlc', '>=', param('afterHlc'))
        q = q.where((eb) =>
          eb.or([
            eb('change_events.hlc', '>', param('afterHlc')),
            eb.and([eb('change_events.hlc', '=', param('afterHlc')), eb('event_id', '>', slot('afterId'))]),
          ]),
        )
      }
      const direction = newest ? 'desc' : 'asc'
      return q
        .orderBy('change_events.hlc', direction)
        .orderBy('event_id', direction)
        .limit(slot('limit') as unknown as number)
    })
    const rows = await this.#reads.run(template, {
      table: entity.table,
      recordId: String(id),
      tenant: tenantId,
      at: newest ? d.bigintParameter(range.atOrBefore) : undefined,
      afterHlc: after === undefined ? undefined : d.bigintParameter(after.hlc),
      afterId: after?.eventId,
      limit: range.limit,
    })
    return rows.map(this.#decode)
  }
}
