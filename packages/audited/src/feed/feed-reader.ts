import { type AliasedRawBuilder, CompiledQuery, sql } from 'kysely'
import { type ChangeEvent, eventFromPackedRow, eventFromRow } from '../audit/change-event.js'
import type { EngineCore } from '../audit/engine-core.js'
import { checkLimit, readSelection } from '../audit/event-queries.js'
import { ReadTemplates } from '../audit/read-templates.js'
import { slot } from '../audit/statements.js'
import { AuditedError } from '../core/errors.js'
import { textProblem } from '../core/text-rules.js'
import type { Dialect } from '../db/dialect.js'
import { decodeFeedCursor, encodeFeedCursor, FEED_START, type FeedPoint } from './feed-cursor.js'

export interface FeedQuery {
  /** The `cursor` of the previous read; omitted: from the start of the feed. */
  readonly after?: string
  /** At most this many events, 1 to 1000 (default 100). */
  readonly limit?: number
  /** One tenant's events (`null`: events without a tenant); omitted: every tenant. */
  readonly tenantId?: string | null
  /** Only these tables / actions (1 to 50 names each). */
  readonly tables?: readonly string[]
  readonly actions?: readonly string[]
}

/** A change event as the feed hands it out, with the cursor just after it. */
export interface FeedEvent extends ChangeEvent {
  readonly cursor: string
  /** The event's feed position (decimal): feed order is (position, eventId). */
  readonly position: string
}

export interface FeedPage {
  readonly events: FeedEvent[]
  /** Pass as `after` for the next read: after the last event returned, or the same place. */
  readonly cursor: string
}

const MAX_TEMPLATES = 200

/** How long a "from now" start waits for transactions in flight to end (ms). */
export const NOW_WAIT_MS = 5000

export interface FeedFilter {
  readonly tenantId?: string | null | undefined
  readonly tables?: readonly string[] | undefined
  readonly actions?: readonly string[] | undefined
}

/** A part of the feed after a point: up to `upTo` (inclusive), leaving out `skip` events. */
export interface FeedRange {
  readonly upTo?: FeedPoint
  readonly skip?: number
}

/** A selection of the feed's rows, compiled once per filter shape under its `name`. */
export interface RowShape {
  readonly name: string
  select(d: Dialect): AliasedRawBuilder<unknown, string>[]
}

/** Each event's id and tenant (beside `feed_position`): its place, without the event. */
export const PLACE_ROWS: RowShape = {
  name: 'places',
  select: () => [sql.ref('event_id').as('event_id'), sql.ref('tenant_id').as('tenant_id')],
}

/** The feed point of a row read with any shape (`feed_position`, `event_id`). */
export const pointOfRow = (r: Record<string, unknown>): FeedPoint => ({
  position: BigInt(String(r.feed_position)),
  eventId: String(r.event_id),
})

/** The tenant of a row read with `PLACE_ROWS` (or a shape holding its columns). */
export const tenantOfRow = (r: Record<string, unknown>): string | null =>
  r.tenant_id === null || r.tenant_id === undefined ? null : String(r.tenant_id)

/** The events themselves, as the feed hands them out. */
const EVENT_ROWS: RowShape = { name: 'read', select: readSelection }

function names(value: unknown, field: string): readonly string[] | undefined {
  if (value === undefined) return undefined
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > 50 ||
    !value.every(
      (v) => typeof v === 'string' && v.length > 0 && v.length <= 255 && textProblem(v) === undefined,
    )
  ) {
    throw new AuditedError('validation', `${field} must be a list of 1 to 50 non-empty names.`, {
      details: { field },
    })
  }
  return [...new Set(value as string[])]
}

/** What the reader reads through: an engine's core, or an open database's read side. */
export type FeedSource = Pick<EngineCore, 'readKysely' | 'dialect'>

/**
 * Reads the change feed in feed order (see db/dialects/feed-positions.ts): following the
 * cursor returns every committed event exactly once, never one that rolled back, and the
 * same order every time it is read from the start.
 */
export class FeedReader {
  readonly #core: FeedSource
  readonly #reads: ReadTemplates
  readonly #decode: (row: Record<string, unknown>) => ChangeEvent

  constructor(core: FeedSource) {
    this.#core = core
    this.#reads = new ReadTemplates(core.readKysely, MAX_TEMPLATES)
    this.#decode = core.dialect.packRowFunction === undefined ? eventFromRow : eventFromPackedRow
  }

  /** The next events after `query.after`, in feed order. */
  async read(query: FeedQuery = {}): Promise<FeedPage> {
    const limit = checkLimit(query.limit)
    const tenantId = query.tenantId
    if (
      tenantId !== undefined &&
      tenantId !== null &&
      (typeof tenantId !== 'string' || tenantId.length === 0)
    ) {
      throw new AuditedError('validation', 'tenantId must be a non-empty string or null.', {
        details: { field: 'tenantId' },
      })
    }
    const tables = names(query.tables, 'tables')
    const actions = names(query.actions, 'actions')
    const from = query.after === undefined ? FEED_START : decodeFeedCursor(query.after)
    const rows = await this.readAfter(from, limit, { tenantId, tables, actions })
    const events = rows.map(({ event, point }) => ({
      ...event,
      cursor: encodeFeedCursor(point),
      position: point.position.toString(),
    }))
    return { events, cursor: events.at(-1)?.cursor ?? encodeFeedCursor(from) }
  }

  /** Events after `from` with their points (what consumers read). */
  async readAfter(
    from: FeedPoint,
    limit: number,
    filter: FeedFilter = {},
    range: FeedRange = {},
  ): Promise<{ event: ChangeEvent; point: FeedPoint }[]> {
    const rows = await this.rowsAfter(from, limit, filter, EVENT_ROWS, range)
    return rows.map((row) => {
      const event = this.#decode(row)
      return { event, point: { position: BigInt(String(row.feed_position)), eventId: event.eventId } }
    })
  }

  /** Rows of `shape`'s columns (and `feed_position`) for the events after `from`, in feed
   * order: the feed's range and filters with another selection (verification's leaf read).
   * `upTo`: only events up to that point (a range known to be final); `skip`: leave out
   * the first this many (a page's last key without reading the page). */
  async rowsAfter(
    from: FeedPoint,
    limit: number,
    filter: FeedFilter,
    shape: RowShape,
    range: FeedRange = {},
  ): Promise<Record<string, unknown>[]> {
    const d = this.#core.dialect
    const tenant = filter.tenantId === undefined ? 'any' : filter.tenantId === null ? 'null' : 'one'
    const nt = filter.tables?.length ?? 0
    const na = filter.actions?.length ?? 0
    const upTo = range.upTo !== undefined
    const skip = range.skip !== undefined
    const key = `${shape.name}:${tenant}:${nt}:${na}:${upTo ? 'u' : ''}${skip ? 's' : ''}`
    const template = this.#reads.template(key, () => {
      let q = this.#core.readKysely
        .selectFrom('change_events')
        .select([...shape.select(d), sql.raw<string>(d.bigintAsText('feed_pos')).as('feed_position')])
        // The plain range lets the index seek to the cursor; the OR keeps its exactness.
        .where('change_events.feed_pos', '>=', slot('pos'))
        .where((eb) =>
          eb.or([eb('change_events.feed_pos', '>', slot('pos')), eb('event_id', '>', slot('id'))]),
        )
      if (d.feed.boundSql !== undefined)
        q = q.where('change_events.feed_pos', '<', sql.raw<string>(d.feed.boundSql))
      if (upTo)
        q = q
          .where('change_events.feed_pos', '<=', slot('upPos'))
          .where((eb) =>
            eb.or([eb('change_events.feed_pos', '<', slot('upPos')), eb('event_id', '<=', slot('upId'))]),
          )
      if (tenant === 'null') q = q.where('tenant_id', 'is', null)
      else if (tenant === 'one') q = q.where('tenant_id', '=', slot('tenant'))
      if (nt > 0)
        q = q.where(
          'table_name',
          'in',
          Array.from({ length: nt }, (_, i) => slot(`t${i}`)),
        )
      if (na > 0)
        q = q.where(
          'action',
          'in',
          Array.from({ length: na }, (_, i) => slot(`a${i}`)),
        )
      const ordered = q
        .orderBy('change_events.feed_pos')
        .orderBy('event_id')
        .limit(slot('limit') as unknown as number)
      return skip ? ordered.offset(slot('skip') as unknown as number) : ordered
    })
    const args: Record<string, unknown> = {
      pos: d.bigintParameter(from.position),
      id: from.eventId,
      tenant: filter.tenantId,
      limit,
      upPos: range.upTo === undefined ? undefined : d.bigintParameter(range.upTo.position),
      upId: range.upTo?.eventId,
      skip: range.skip,
    }
    filter.tables?.forEach((t, i) => {
      args[`t${i}`] = t
    })
    filter.actions?.forEach((a, i) => {
      args[`a${i}`] = a
    })
    return this.#reads.run(template, args)
  }

  /** The newest final point: every event at or before it can be read now. */
  head(): Promise<FeedPoint> {
    return this.#newest(true)
  }

  /**
   * Where a consumer that starts "from now" starts: after every event committed before
   * this call. Where the feed holds back (PostgreSQL), an event can be committed and not
   * final yet (an older transaction is still open); starting at the final head would hand
   * such events out as new. So this reads the newest committed position first and waits
   * until the feed is final up to it, up to `maxWaitMs` (`onHeldBack` is told when that
   * ran out). A transaction that stays open longer holds every consumer back anyway; then
   * this starts at the final head, which is where the oldest open transaction began, so
   * every event committed since then may be handed out (none is ever skipped).
   */
  async nowPoint(
    maxWaitMs = NOW_WAIT_MS,
    stopped: () => boolean = () => false,
    onHeldBack: (ms: number) => void = () => {},
  ): Promise<FeedPoint> {
    const { point, final } = await this.finalHead(maxWaitMs, stopped)
    if (!final && !stopped()) onHeldBack(maxWaitMs)
    return point
  }

  /** The final head once it covers every event committed before this call (`final`), or,
   * when `maxWaitMs` ran out or `stopped` says so first, the final head as it is then. */
  async finalHead(
    maxWaitMs: number,
    stopped: () => boolean = () => false,
  ): Promise<{ point: FeedPoint; final: boolean }> {
    if (this.#core.dialect.feed.boundSql === undefined) return { point: await this.head(), final: true }
    const newest = await this.#newest(false)
    const deadline = Date.now() + maxWaitMs
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const point = await this.head()
      if (point.position >= newest.position) return { point, final: true }
      if (stopped() || Date.now() >= deadline) return { point, final: false }
      await new Promise((r) => setTimeout(r, pause))
    }
  }

  /** The newest point, final only (`final`) or committed at all. */
  async #newest(final: boolean): Promise<FeedPoint> {
    const d = this.#core.dialect
    const bounded = final && d.feed.boundSql !== undefined
    const template = this.#reads.template(bounded ? 'head' : 'newest', () => {
      let q = this.#core.readKysely
        .selectFrom('change_events')
        .select([sql.raw<string>(d.bigintAsText('feed_pos')).as('feed_position'), 'event_id'])
      if (bounded) q = q.where('change_events.feed_pos', '<', sql.raw<string>(d.feed.boundSql!))
      return q.orderBy('change_events.feed_pos', 'desc').orderBy('event_id', 'desc').limit(sql<number>`1`)
    })
    const [row] = await this.#reads.run(template, {})
    return row === undefined ? FEED_START : pointOfRow(row)
  }

  /** How far `from` is behind: final events after it (counted up to `cap`) and the wall
   * time of the first of them. */
  async lag(from: FeedPoint, cap = 10_000): Promise<{ events: number; oldestWallTime: string | undefined }> {
    const rows = await this.readAfter(from, 1)
    if (rows.length === 0) return { events: 0, oldestWallTime: undefined }
    const d = this.#core.dialect
    const template = this.#reads.template('lag', () => {
      let inner = this.#core.readKysely
        .selectFrom('change_events')
        .select(sql<number>`1`.as('one'))
        .where('change_events.feed_pos', '>=', slot('pos'))
        .where((eb) =>
          eb.or([eb('change_events.feed_pos', '>', slot('pos')), eb('event_id', '>', slot('id'))]),
        )
      if (d.feed.boundSql !== undefined)
        inner = inner.where('change_events.feed_pos', '<', sql.raw<string>(d.feed.boundSql))
      return this.#core.readKysely
        .selectFrom(inner.limit(slot('cap') as unknown as number).as('pending'))
        .select(sql<number>`COUNT(*)`.as('n'))
    })
    const [row] = await this.#reads.run(template, {
      pos: d.bigintParameter(from.position),
      id: from.eventId,
      cap,
    })
    return { events: Number(row?.n ?? 0), oldestWallTime: rows[0]!.event.wallTime }
  }

  /** Age (ms) of the oldest open transaction holding the feed back (0 where none can). */
  async holdbackMs(): Promise<number> {
    const q = this.#core.dialect.feed.holdbackSql
    if (q === undefined) return 0
    const r = await this.#core.readKysely.executeQuery<{ age_ms?: unknown }>(CompiledQuery.raw(q))
    return Math.max(0, Math.round(Number(r.rows[0]?.age_ms ?? 0)))
  }
}
