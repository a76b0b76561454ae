import type { ActorType } from '../core/audit-context.js'
import { canonicalize, type JsonValue } from '../core/canonical-json.js'
import { AuditedError } from '../core/errors.js'

export type Operation = 'INSERT' | 'UPDATE' | 'DELETE'
export type Action = 'create' | 'update' | 'delete' | 'publish' | 'unpublish' | 'restore'
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

function parseJson(value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (typeof value !== 'string') return canonicalize(value)
  try {
    return canonicalize(JSON.parse(value))
  } catch (cause) {
    throw new AuditedError('internal', 'A stored event holds malformed JSON.', { cause })
  }
}

function isoTime(value: unknown): string {
  if (value instanceof Date) return value.toISOString()
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
