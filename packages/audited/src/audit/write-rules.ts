/**
 * The pure rules of a write: which ids and versions are valid, what a change is (and
 * whether a patch makes one), which action an update records.
 */
import { canonicalizeStored, type JsonValue, jsonEqual } from '../core/canonical-json.js'
import { AuditedError } from '../core/errors.js'
import { textProblem } from '../core/text-rules.js'
import type { Action, JsonObject } from './change-event.js'
import type { Entity } from './entity.js'
import { decodeRow, type Row } from './row-codec.js'

/** Options of `create`. */
export interface CreateOptions {
  /**
   * `'restore'`: the write brings back a past state (an undo, a restore to an event); the
   * event records action `restore` instead of `create` / `update`. An update that changes
   * the status column still records `publish` / `unpublish`, so their consumers see it.
   */
  readonly action?: OperationAction
}

/** The actions a caller may ask a write to record instead of the one it implies:
 * `restore` (see above), `purge` (a retention run's record) and `erase` (personal data
 * blanked for a subject). */
export type OperationAction = 'restore' | 'purge' | 'erase'
const OPERATION_ACTIONS: readonly string[] = ['restore', 'purge', 'erase']

/** Options of `update` and `delete` (`action` only applies to `update`). */
export interface WriteOptions extends CreateOptions {
  /** The version the caller last saw; a different current version is a `conflict`. */
  readonly expectedVersion?: number
}

/** The action option, checked: an operation action or absent. */
export function checkAction(options: CreateOptions | undefined): OperationAction | undefined {
  const action = options?.action
  if (action !== undefined && !OPERATION_ACTIONS.includes(action)) {
    throw new AuditedError('validation', 'The action write option is "restore", "purge" or "erase".', {
      details: { fields: ['action'] },
    })
  }
  return action
}

/** Record keys: a string or a safe integer. */
export type RecordId = string | number

export function checkId(id: unknown): asserts id is RecordId {
  const ok =
    (typeof id === 'string' && id.length > 0 && id.length <= 255 && textProblem(id) === undefined) ||
    (typeof id === 'number' && Number.isSafeInteger(id))
  if (!ok) throw new AuditedError('validation', 'A record id must be a non-empty string or a safe integer.')
}

export function checkVersion(options: WriteOptions | undefined): number | undefined {
  const v = options?.expectedVersion
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
    throw new AuditedError('validation', 'expectedVersion must be a non-negative integer.')
  }
  return v
}

export const notFound = (entity: Entity<object>, id: RecordId) =>
  new AuditedError('not_found', `No ${entity.table} record with that id.`, {
    details: { table: entity.table, id: String(id) },
  })

/** True when writing `input` (encoded values) would leave `row` as it is: each column's
 * value, read back as the database would give it, equals the current one as JSON. */
export function unchanged(entity: Entity<object>, row: Row, input: Row): boolean {
  const next = decodeRow(entity, input)
  for (const column of Object.keys(next)) {
    if (!jsonEqual(canonicalizeStored(row[column] ?? null), canonicalizeStored(next[column] ?? null)))
      return false
  }
  return true
}

export function changed(before: JsonObject | null, after: JsonObject | null): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])
  const out: string[] = []
  for (const k of keys) {
    const a: JsonValue | undefined = before?.[k]
    const b: JsonValue | undefined = after?.[k]
    if (before === null ? b !== null && b !== undefined : after === null ? a !== null : !jsonEqual(a, b))
      out.push(k)
  }
  return out.sort()
}

/** The action an update records: publish / unpublish when the status changed, else
 * `update` (or `restore` when the write is one). */
export function statusAction(
  entity: Entity<object>,
  before: Row,
  after: Row,
  otherwise: 'update' | OperationAction = 'update',
): Action {
  const column = entity.statusColumn
  if (column === undefined) return otherwise
  const was = before[column] === 'published'
  const is = after[column] === 'published'
  return was === is ? otherwise : is ? 'publish' : 'unpublish'
}
