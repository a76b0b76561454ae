import type { ActorType } from '../core/audit-context.js'
import { canonicalizeParsed, type JsonValue } from '../core/canonical-json.js'
import { AuditedError } from '../core/errors.js'

export type Operation = 'INSERT' | 'UPDATE' | 'DELETE'
/** Every action an event can record: the writes, status changes, restores, and the
 * operations of retention (`purge`: a run that purged events, naming its manifest) and of
 * erasure (`erase`: a subject's personal fields blanked). */
export const ACTIONS = [
  'create',
  'update',
  'delete',
  'publish',
  'unpublish',
  'restore',
  'purge',
  'erase',
] as const
export type Action = (typeof ACTIONS)[number]
export type JsonObject = { [key: string]: JsonValue }

/**
 * One change, as the API returns it. `hlc` is a decimal string: it exceeds 2^53.
 * Optional request facts are `null` when absent, on every dialect.
 */
export interface ChangeEvent {
  readonly eventId: string
  readonly hlc: string
  readonly wallTime: string
  readonly nodeId: string
  readonly tenantId: string | null
  readonly txId: string
  readonly table: string
  readonly recordId: string
  readonly operation: Operation
  readonly action: Action
  readonly actorId: string
  readonly actorType: ActorType
  readonly oldValues: JsonObject | null
  readonly newValues: JsonObject | null
  readonly changedFields: string[]
  readonly requestId: string | null
  readonly ip: string | null
  readonly userAgent: string | null
  readonly reason: string | null
  readonly metadata: JsonObject | null
}

/** The stored columns, in insert order. */
export const EVENT_COLUMNS = [
  'event_id',
  'hlc',
  'wall_time',
  'node_id',
  'tenant_id',
  'tx_id',
  'table_name',
  'record_id',
  'operation',
  'action',
  'actor_id',
  'actor_type',
  'old_values',
  'new_values',
  'changed_fields',
  'request_id',
  'ip',
  'user_agent',
  'reason',
  'metadata',
] as const

export type EventColumn = (typeof EVENT_COLUMNS)[number]

/** The columns holding JSON (read as text and parsed once). */
export const JSON_EVENT_COLUMNS = ['old_values', 'new_values', 'changed_fields', 'metadata'] as const

/** An event on its way into the table (hlc still a bigint). */
export interface PendingEvent extends Omit<ChangeEvent, 'hlc'> {
  readonly hlcValue: bigint
  readonly wallDate: Date
}

/** A pending event's column values, in `EVENT_COLUMNS` order. */
export function eventValues(
  e: PendingEvent,
  bigint: (v: bigint) => unknown,
  date: (d: Date) => unknown,
): unknown[] {
  const json = (v: unknown) => (v === null ? null : JSON.stringify(v))
  return [
    e.eventId,
    bigint(e.hlcValue),
    date(e.wallDate),
    e.nodeId,
    e.tenantId,
    e.txId,
    e.table,
    e.recordId,
    e.operation,
    e.action,
    e.actorId,
    e.actorType,
    json(e.oldValues),
    json(e.newValues),
    json(e.changedFields),
    e.requestId,
    e.ip,
    e.userAgent,
    e.reason,
    json(e.metadata),
  ]
}

/** The public form of a pending event (after commit, for `after` hooks). */
export function publicEvent(e: PendingEvent): ChangeEvent {
  const { hlcValue, wallDate, ...rest } = e
  return { ...rest, hlc: hlcValue.toString() }
}

/** A stored JSON column (text, or what the driver parsed) in its canonical form. */
function parseJson(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (typeof value !== 'string') return canonicalizeParsed(value)
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (cause) {
    throw new AuditedError('internal', 'A stored event holds malformed JSON.', { cause })
  }
  try {
    return canonicalizeParsed(parsed)
  } catch (cause) {
    throw new AuditedError('internal', 'A stored event holds malformed JSON.', { cause })
  }
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** The decimal digit at `s[i]`, or a large negative number when it is not one. */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48
  return c >= 0 && c <= 9 ? c : -100_000
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ` naming a real instant: exactly what `toISOString` writes
 * for it, so it needs no round trip through `Date` (SQLite stores this text). */
function isCanonicalIso(s: string): boolean {
  if (s.length !== 24 || s.charCodeAt(23) !== 90 /* Z */) return false
  const year = digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3)
  const month = digit(s, 5) * 10 + digit(s, 6)
  const day = digit(s, 8) * 10 + digit(s, 9)
  const hour = digit(s, 11) * 10 + digit(s, 12)
  const minute = digit(s, 14) * 10 + digit(s, 15)
  const second = digit(s, 17) * 10 + digit(s, 18)
  const ms = digit(s, 20) * 100 + digit(s, 21) * 10 + digit(s, 22)
  if (
    s[4] !== '-' ||
    s[7] !== '-' ||
    s[10] !== 'T' ||
    s[13] !== ':' ||
    s[16] !== ':' ||
    s[19] !== '.' ||
    year < 0 ||
    ms < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  )
    return false
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  return day <= (month === 2 && leap ? 29 : DAYS[month - 1]!)
}

function isoTime(value: unknown): string {
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'string' && isCanonicalIso(value)) return value
  return new Date(
    `${String(value).replace(' ', 'T')}${/Z|[+-]\d\d:?\d\d$/.test(String(value)) ? '' : 'Z'}`,
  ).toISOString()
}

const nullable = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

/** Reads an event row (with `hlc` selected as text) into its public form. */
export function eventFromRow(row: Record<string, unknown>): ChangeEvent {
  return {
    eventId: String(row.event_id),
    hlc: String(row.hlc),
    wallTime: isoTime(row.wall_time),
    nodeId: String(row.node_id),
    tenantId: nullable(row.tenant_id),
    txId: String(row.tx_id),
    table: String(row.table_name),
    recordId: String(row.record_id),
    operation: row.operation as Operation,
    action: row.action as Action,
    actorId: String(row.actor_id),
    actorType: row.actor_type as ActorType,
    oldValues: parseJson(row.old_values) as JsonObject | null,
    newValues: parseJson(row.new_values) as JsonObject | null,
    changedFields: (parseJson(row.changed_fields) as string[] | null) ?? [],
    requestId: nullable(row.request_id),
    ip: nullable(row.ip),
    userAgent: nullable(row.user_agent),
    reason: nullable(row.reason),
    metadata: parseJson(row.metadata) as JsonObject | null,
  }
}

/**
 * The text columns a packed read carries as one JSON array, in this order (`hlc` as
 * decimal text); the JSON columns stay columns of their own. A row of 5 columns instead
 * of 20 matters on SQLite, where better-sqlite3 pays for every column of every row.
 */
export const PACKED_COLUMNS: readonly EventColumn[] = EVENT_COLUMNS.filter(
  (c) => !(JSON_EVENT_COLUMNS as readonly string[]).includes(c),
)

/** Reads a packed event row (`packed`: the JSON array of `PACKED_COLUMNS`, plus the JSON
 * columns) into its public form: the same event `eventFromRow` makes of the plain row. */
export function eventFromPackedRow(row: Record<string, unknown>): ChangeEvent {
  let p: unknown[]
  try {
    p = JSON.parse(row.packed as string) as unknown[]
  } catch (cause) {
    throw new AuditedError('internal', 'A stored event could not be read.', { cause })
  }
  if (!Array.isArray(p) || p.length !== PACKED_COLUMNS.length) {
    throw new AuditedError('internal', 'A stored event could not be read.')
  }
  return {
    eventId: String(p[0]),
    hlc: String(p[1]),
    wallTime: isoTime(p[2]),
    nodeId: String(p[3]),
    tenantId: nullable(p[4]),
    txId: String(p[5]),
    table: String(p[6]),
    recordId: String(p[7]),
    operation: p[8] as Operation,
    action: p[9] as Action,
    actorId: String(p[10]),
    actorType: p[11] as ActorType,
    oldValues: parseJson(row.old_values) as JsonObject | null,
    newValues: parseJson(row.new_values) as JsonObject | null,
    changedFields: (parseJson(row.changed_fields) as string[] | null) ?? [],
    requestId: nullable(p[12]),
    ip: nullable(p[13]),
    userAgent: nullable(p[14]),
    reason: nullable(p[15]),
    metadata: parseJson(row.metadata) as JsonObject | null,
  }
}
