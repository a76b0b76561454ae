/**
 * The explorer's difference of two record states (any two versions, not only against the
 * latest). Pure (no DOM): the Node tests run it exactly as the browser does.
 *
 * - Objects are compared key by key, nested JSON by path (`data.seo.title`; a key that is
 *   not an identifier is quoted: `data["a b"]`).
 * - Arrays whose elements are all objects with a unique `id` are matched by id
 *   (`data.blocks[id=b2].text`), so a reorder or an insertion is not a change of every later
 *   element; other arrays are compared by position (`tags[1]`).
 * - Two different strings, either of them long (≥ 40 characters) or multi-line, carry a
 *   word-level difference.
 * - Masked values are never compared as text: `"[redacted]"` (a secret the trail never
 *   holds) and `"[erased]"` (personal data whose key was destroyed) are reported as such.
 */

import { type WordPart, wordDiff } from './words.js'

export type Marker = 'redacted' | 'erased'
export type ChangeKind = 'added' | 'removed' | 'changed' | 'unchanged' | 'masked'

export interface Change {
  /** Where: `title`, `data.seo.title`, `data.blocks[id=b2].text`, `tags[0]`. */
  readonly path: string
  /** `masked`: both sides are masked, so whether the value changed cannot be known. */
  readonly kind: ChangeKind
  readonly before?: unknown
  readonly after?: unknown
  /** A side that is masked, and how. */
  readonly beforeMarker?: Marker
  readonly afterMarker?: Marker
  /** The word-level difference of two long texts. */
  readonly words?: readonly WordPart[]
}

export const LONG_TEXT = 40

export function markerOf(value: unknown): Marker | undefined {
  if (value === '[redacted]') return 'redacted'
  if (value === '[erased]') return 'erased'
  return undefined
}

type Plain = Record<string, unknown>
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Every leaf-level difference between `before` and `after` (null/undefined: no record), in
 * path order; unchanged leaves included (`kind: 'unchanged'`) so a view can show the whole
 * record or only the changes. */
export function diffValues(before: unknown, after: unknown, path = ''): Change[] {
  const out: Change[] = []
  walk(before, after, path, out)
  return out
}

/** Only what differs: the "changed fields only" view. */
export function changesOnly(changes: readonly Change[]): Change[] {
  return changes.filter((c) => c.kind !== 'unchanged')
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/
export function keyPath(parent: string, key: string): string {
  if (IDENT.test(key)) return parent === '' ? key : `${parent}.${key}`
  return `${parent}[${JSON.stringify(key)}]`
}

function walk(before: unknown, after: unknown, path: string, out: Change[]): void {
  const bm = markerOf(before)
  const am = markerOf(after)
  if (bm !== undefined || am !== undefined) {
    out.push({
      path,
      kind: bm !== undefined && am !== undefined ? 'masked' : before === undefined ? 'added' : 'changed',
      before,
      after,
      ...(bm === undefined ? {} : { beforeMarker: bm }),
      ...(am === undefined ? {} : { afterMarker: am }),
    })
    return
  }
  if (isPlain(before) && isPlain(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    for (const k of keys) {
      const has = (o: Plain) => Object.hasOwn(o, k)
      walk(has(before) ? before[k] : undefined, has(after) ? after[k] : undefined, keyPath(path, k), out)
    }
    if (keys.length === 0) out.push({ path, kind: 'unchanged', before, after })
    return
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const byId = idIndex(before) !== undefined && idIndex(after) !== undefined
    if (byId) walkById(before as Plain[], after as Plain[], path, out)
    else {
      const n = Math.max(before.length, after.length)
      for (let i = 0; i < n; i++)
        walk(
          i < before.length ? before[i] : undefined,
          i < after.length ? after[i] : undefined,
          `${path}[${i}]`,
          out,
        )
      if (n === 0) out.push({ path, kind: 'unchanged', before, after })
    }
    return
  }
  if (before === undefined && after === undefined) return
  if (before === undefined || (before === null && path === '')) {
    if (isPlain(after) && path === '') walk({}, after, path, out)
    else out.push({ path, kind: 'added', after })
    return
  }
  if (after === undefined || (after === null && path === '')) {
    if (isPlain(before) && path === '') walk(before, {}, path, out)
    else out.push({ path, kind: 'removed', before })
    return
  }
  if (sameValue(before, after)) {
    out.push({ path, kind: 'unchanged', before, after })
    return
  }
  const long = (s: unknown) => typeof s === 'string' && (s.length >= LONG_TEXT || s.includes('\n'))
  const words =
    typeof before === 'string' && typeof after === 'string' && (long(before) || long(after))
      ? { words: wordDiff(before, after) }
      : {}
  out.push({ path, kind: 'changed', before, after, ...words })
}

/** The elements' ids, when every element is an object with a unique string or number `id`. */
function idIndex(list: readonly unknown[]): Map<string, number> | undefined {
  if (list.length === 0) return new Map()
  const index = new Map<string, number>()
  for (let i = 0; i < list.length; i++) {
    const e = list[i]
    if (!isPlain(e)) return undefined
    const id = e.id
    if (typeof id !== 'string' && typeof id !== 'number') return undefined
    const key = idKey(id)
    if (index.has(key)) return undefined
    index.set(key, i)
  }
  return index
}

const idKey = (id: string | number) => (typeof id === 'number' ? String(id) : JSON.stringify(id))

function walkById(before: Plain[], after: Plain[], path: string, out: Change[]): void {
  if (before.length === 0 && after.length === 0) {
    out.push({ path, kind: 'unchanged', before, after })
    return
  }
  const old = new Map(before.map((e) => [idKey(e.id as string | number), e]))
  const seen = new Set<string>()
  // Order: the new array's, then what was removed in the old one's.
  for (const e of after) {
    const key = idKey(e.id as string | number)
    seen.add(key)
    walkElement(old.get(key), e, `${path}[id=${key}]`, out)
  }
  for (const e of before) {
    const key = idKey(e.id as string | number)
    if (!seen.has(key)) walkElement(e, undefined, `${path}[id=${key}]`, out)
  }
}

/** A whole element added or removed is one change, not one per field. */
function walkElement(before: Plain | undefined, after: Plain | undefined, path: string, out: Change[]): void {
  if (before === undefined) out.push({ path, kind: 'added', after })
  else if (after === undefined) out.push({ path, kind: 'removed', before })
  else walk(before, after, path, out)
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  return JSON.stringify(a) === JSON.stringify(b)
}

/** A value as the diff shows it: strings as they are, the rest as JSON. */
export function shown(value: unknown): string {
  if (value === undefined) return '—'
  if (typeof value === 'string') return value
  return JSON.stringify(value)
}
