import { AuditedError } from './errors.js'
import { textProblem } from './text-rules.js'

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
 * | a string or key holding `\u0000` or a lone surrogate | error (no database stores it alike) |
 *
 * Object keys come out sorted, so equal values give byte-equal JSON on every dialect.
 *
 * @example
 * canonicalJson({ b: 1n, a: new Date(0) }) // '{"a":"1970-01-01T00:00:00.000Z","b":"1"}'
 */
export function canonicalize(value: unknown, path = '$'): JsonValue {
  return walk(value, path, [], true)
}

/**
 * `canonicalize` for a value read from the database (a row before or after a write):
 * the same form and errors, except that text is taken as stored — a value an older
 * version stored on SQLite with a NUL must not make its record unwritable.
 */
export function canonicalizeStored(value: unknown): JsonValue {
  return walk(value, '$', [], false)
}

/** `canonicalize` then stringify: the stored text of old/new values. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value))
}

function badText(path: string, problem: string): never {
  throw new AuditedError(
    'validation',
    `The text at ${path} contains ${problem}, which not every database can store.`,
    {
      details: { path, type: 'text' },
    },
  )
}

function fail(path: string, what: string): never {
  throw new AuditedError('validation', `The value at ${path} cannot be represented in JSON (${what}).`, {
    details: { path, type: what },
  })
}

/**
 * Deeper values are refused: no audit state needs them, and unbounded recursion would
 * overflow the stack (a 500) instead of answering a clear `validation` error. 31, because
 * MariaDB's `json_valid` refuses JSON nested deeper than 31 levels: a change event's row
 * (checked as a whole, so a column value gets 30 levels) and `metadata` that fit here are
 * stored on every dialect; deeper ones are refused on every dialect alike.
 */
const MAX_DEPTH = 31

/** `strict`: refuse text no database stores alike (writes); reads of stored values are lenient. */
function walk(value: unknown, path: string, stack: object[], strict: boolean): JsonValue {
  switch (typeof value) {
    case 'string': {
      const problem = strict ? textProblem(value) : undefined
      if (problem !== undefined) badText(path, problem)
      return value
    }
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
      return Array.from(obj, (item, i) =>
        item === undefined ? null : walk(item, `${path}[${i}]`, stack, strict),
      )
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return walk(toJSON.call(obj), path, stack, strict)
    const out: { [key: string]: JsonValue } = {}
    for (const key of Object.keys(obj).sort()) {
      const item = (obj as Record<string, unknown>)[key]
      if (item === undefined) continue
      const problem = strict ? textProblem(key) : undefined
      if (problem !== undefined) badText(`${path} (a key)`, problem)
      setOwn(out, key, walk(item, `${path}.${key}`, stack, strict))
    }
    return out
  } finally {
    stack.pop()
  }
}

/**
 * `out[key] = value`, except that an own `__proto__` key (what `JSON.parse` gives for
 * `{"__proto__": …}`) stays an own, enumerable key instead of replacing the prototype
 * and vanishing from the JSON (issue 7 S7: nothing is lost silently).
 */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  else out[key] = value
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

const isNegativeZero = (v: unknown) => v === 0 && 1 / v < 0

/** Thrown by `canonicalStored` where only `canonicalize` itself can say what to do. */
const BAIL: unique symbol = Symbol('bail')

/** Below `canonicalize`'s own depth limit: deeper values take the slow path, which fails
 * exactly as it does on a write. */
const FAST_MAX_DEPTH = MAX_DEPTH - 10

/**
 * `canonicalize` for a value a JSON parser just produced (plain objects and arrays,
 * strings, finite numbers, booleans, null), without its per-value bookkeeping: the same
 * value comes back, reusing every subtree that is already canonical (keys in sorted order,
 * no `-0`); objects with unsorted keys, and arrays or objects holding a `-0`, are rebuilt
 * exactly as `canonicalize` builds them. Anything else — non-finite numbers, holes or
 * `undefined`, other prototypes, `toJSON` methods, deep nesting — throws
 * `BAIL`, and the caller runs `canonicalize` on the untouched input (this function never
 * mutates it), so results and errors are `canonicalize`'s own.
 */
function canonicalStored(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (value === 0) return 0 // also -0 → 0, as canonicalize
      if (value - value !== 0) throw BAIL // NaN, ±Infinity
      return value
    case 'object':
      break
    default:
      throw BAIL
  }
  if (value === null) return null
  if (depth >= FAST_MAX_DEPTH) throw BAIL
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) throw BAIL
    const n = value.length
    let out: unknown[] | undefined
    for (let i = 0; i < n; i++) {
      const item: unknown = value[i]
      if (item === undefined) throw BAIL
      const c = canonicalStored(item, depth + 1)
      if (out !== undefined) out[i] = c
      else if (c !== item || isNegativeZero(item)) {
        out = value.slice(0, i)
        out[i] = c
      }
    }
    return out ?? value
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) throw BAIL
  const obj = value as Record<string, unknown>
  if (typeof obj.toJSON === 'function') throw BAIL
  // `for…in` reads through V8's enum cache; an object from a parser has no inherited
  // enumerable keys (Object.prototype is checked above), so it lists `Object.keys(obj)`.
  let previous: string | undefined
  for (const key in obj) {
    if (previous !== undefined && !(previous < key)) return rebuild(obj, depth)
    previous = key
    const item = obj[key]
    if (item === undefined) throw BAIL
    const c = canonicalStored(item, depth + 1)
    if (c !== item || isNegativeZero(item)) return rebuild(obj, depth)
  }
  return obj
}

/** A new object as `canonicalize` builds it: keys inserted in sorted order (UTF-16 code
 * units, as `Array.prototype.sort`), each value canonical. */
function rebuild(obj: Record<string, unknown>, depth: number): Record<string, unknown> {
  const keys = Object.keys(obj)
  // Few keys (most objects): an insertion sort, about twice as fast as `sort()`.
  if (keys.length > 16) keys.sort()
  else
    for (let i = 1; i < keys.length; i++) {
      const key = keys[i]!
      let j = i - 1
      while (j >= 0 && keys[j]! > key) {
        keys[j + 1] = keys[j]!
        j--
      }
      keys[j + 1] = key
    }
  const out: Record<string, unknown> = {}
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const item = obj[key]
    if (item === undefined) throw BAIL
    setOwn(out, key, canonicalStored(item, depth + 1))
  }
  return out
}

/**
 * `canonicalizeStored` for a value a JSON parser (or a database driver) just produced: the
 * same result and the same errors, but an already-canonical value — what the engine itself
 * stores — comes back as it is instead of being rebuilt.
 */
export function canonicalizeParsed(value: unknown): JsonValue {
  try {
    return canonicalStored(value, 0) as JsonValue
  } catch (e) {
    if (e !== BAIL) throw e
    return canonicalizeStored(value)
  }
}
