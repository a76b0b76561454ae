import { canonicalize, canonicalJson, type JsonValue } from '../core/canonical-json.js'
import { AuditedError } from '../core/errors.js'
import type { Dialect } from '../db/dialect.js'
import type { ColumnKind, Entity } from './entity.js'

/** A row as the engine hands it out: driver differences removed (see `ColumnKind`). */
export type Row = Record<string, unknown>

/** Normalises one row read from the database. */
export function decodeRow(entity: Entity<object>, raw: Record<string, unknown>): Row {
  const out: Row = {}
  for (const key of Object.keys(raw)) out[key] = decodeValue(entity.columns[key], raw[key], key)
  return out
}

function decodeValue(kind: ColumnKind | undefined, value: unknown, column: string): unknown {
  if (value === null || value === undefined) return null
  switch (kind) {
    case 'boolean':
      if (typeof value === 'boolean') return value
      if (value === 1 || value === '1' || value === 1n) return true
      if (value === 0 || value === '0' || value === 0n) return false
      return Boolean(value)
    case 'json':
      if (typeof value !== 'string') return value
      try {
        return JSON.parse(value)
      } catch (cause) {
        throw new AuditedError('internal', `Column ${column} holds text that is not JSON.`, { cause })
      }
    case 'timestamp':
      return value instanceof Date ? value : new Date(String(value).replace(' ', 'T'))
    case 'bigint':
      return String(value)
    case 'number':
      return typeof value === 'number' ? value : Number(value)
    case 'text':
      return String(value)
    case 'bytes':
      return Buffer.isBuffer(value)
        ? value
        : value instanceof Uint8Array
          ? Buffer.from(value)
          : Buffer.from(String(value), 'base64')
    default:
      return value
  }
}

/**
 * Turns caller-supplied values into statement parameters, after checking that every value
 * has a JSON form (so the event can record it) — a function or a cycle is a `validation`
 * error before anything is written.
 */
export function encodeValues(entity: Entity<object>, values: Row, dialect: Dialect): Row {
  const out: Row = {}
  for (const [column, value] of Object.entries(values)) {
    if (value === undefined) continue
    canonicalize(value, column) // throws on values JSON cannot carry, or text no database stores alike
    out[column] = encodeValue(entity.columns[column], value, dialect)
  }
  return out
}

function encodeValue(kind: ColumnKind | undefined, value: unknown, dialect: Dialect): unknown {
  if (value === null) return null
  if (kind === 'json') return canonicalJson(value)
  // Binary values travel as base64 in events, so that is how a string reaches a bytes column.
  if (kind === 'bytes' && typeof value === 'string') return Buffer.from(value, 'base64')
  if (kind === 'timestamp' && typeof value === 'string') {
    const date = new Date(value)
    if (Number.isNaN(date.getTime())) {
      throw new AuditedError('validation', 'A timestamp field holds text that is not a date.', {
        details: { value },
      })
    }
    return dialect.toParameter(date)
  }
  if (typeof value === 'object' && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return canonicalJson(value) // objects and arrays are stored as their JSON text
  }
  return dialect.toParameter(value)
}

/** A canonical row with redacted columns masked: what events store. */
export function eventState(
  entity: Entity<object>,
  state: { [key: string]: JsonValue } | null,
): { [key: string]: JsonValue } | null {
  if (state === null || entity.redact.size === 0) return state
  const masked = { ...state }
  for (const column of entity.redact) if (Object.hasOwn(masked, column)) masked[column] = REDACTED
  return masked
}

/** What a redacted value reads as in events. */
export const REDACTED = '[redacted]'
