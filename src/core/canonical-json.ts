import { AuditedError } from './errors.js'

/** A value JSON can carry, after canonicalisation. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * Turns any value into its one canonical JSON form, or throws a `validation` error naming
 * the path of the first value JSON cannot represent. Never a silent `null` or a dropped
 * key where information would be lost.
 *
 * | input | canonical form |
 * |---|---|
 * | bigint | decimal string (`12n` → `"12"`) |
 * | Date | ISO-8601 UTC string; an invalid Date is an error |
 * | Buffer / Uint8Array | base64 string |
 * | undefined | object key omitted; array element `null` (as `JSON.stringify`) |
 * | -0 | 0 |
 * | object with `toJSON()` (e.g. decimal types) | its `toJSON()` result, canonicalised |
 * | NaN, ±Infinity, function, symbol, Map, Set, WeakMap, cycle | error |
 *
 * Object keys come out sorted, so equal values give byte-equal JSON on every dialect.
 *
 * @example
 * canonicalJson({ b: 1n, a: new Date(0) }) // '{"a":"1970-01-01T00:00:00.000Z","b":"1"}'
 */
export function canonicalize(value: unknown): JsonValue {
  return walk(value, '$', [])
}

/** `canonicalize` then stringify: the stored text of old/new values. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value))
}

function fail(path: string, what: string): never {
  throw new AuditedError('validation', `The value at ${path} cannot be represented in JSON (${what}).`, {
    details: { path, type: what },
  })
}

/** Deeper values are refused: no audit state needs them, and unbounded recursion would
 * overflow the stack (a 500) instead of answering a clear `validation` error. */
const MAX_DEPTH = 200

function walk(value: unknown, path: string, stack: object[]): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (!Number.isFinite(value)) fail(path, String(value))
      return Object.is(value, -0) ? 0 : value
    case 'bigint':
      return value.toString()
    case 'undefined':
      return fail(path, 'undefined')
    case 'function':
      return fail(path, 'function')
    case 'symbol':
      return fail(path, 'symbol')
  }
  if (value === null) return null
  const obj = value as object
  if (obj instanceof Date) {
    if (Number.isNaN(obj.getTime())) fail(path, 'invalid Date')
    return obj.toISOString()
  }
  if (obj instanceof Uint8Array)
    return Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64')
  if (obj instanceof Map || obj instanceof Set || obj instanceof WeakMap || obj instanceof WeakSet) {
    fail(path, obj.constructor.name)
  }
  if (stack.includes(obj)) fail(path, 'cycle')
  if (stack.length >= MAX_DEPTH) fail(path, `nesting deeper than ${MAX_DEPTH}`)
  stack.push(obj)
  try {
    if (Array.isArray(obj)) {
      // Array.from visits holes too (map skips them), so `[, 1]` becomes `[null, 1]`.
      return Array.from(obj, (item, i) => (item === undefined ? null : walk(item, `${path}[${i}]`, stack)))
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return walk(toJSON.call(obj), path, stack)
    const out: { [key: string]: JsonValue } = {}
    for (const key of Object.keys(obj).sort()) {
      const item = (obj as Record<string, unknown>)[key]
      if (item === undefined) continue
      out[key] = walk(item, `${path}.${key}`, stack)
    }
    return out
  } finally {
    stack.pop()
  }
}

/** Deep equality of canonical values (used for `changedFields`). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true
  if (a === null || b === null || a === undefined || b === undefined) return false
  if (typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]))
  }
  const ao = a as Record<string, JsonValue>
  const bo = b as Record<string, JsonValue>
  const keys = Object.keys(ao)
  if (keys.length !== Object.keys(bo).length) return false
  return keys.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]))
}
