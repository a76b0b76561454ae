/** HTTP fuzzing: nasty strings and numbers, arbitrary and mutated JSON, malformed payloads. */
import fc from 'fast-check'

/** Header values as they can arrive over the wire (no CR/LF/NUL, Latin-1 only). */
export const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')

/** encodeURIComponent that also survives lone surrogates (sent as the bytes of one). */
export function enc(s: string): string {
  try {
    return encodeURIComponent(s)
  } catch {
    return Array.from(s, (ch) => {
      try {
        return encodeURIComponent(ch)
      } catch {
        return '%EF%BF%BD'
      }
    }).join('')
  }
}

export const NASTY = [
  '',
  ' ',
  '..',
  '../',
  '../../etc/passwd',
  '%00',
  '\u0000',
  'a\u0000b',
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  'SELECT 1',
  '__proto__',
  'constructor',
  'toString',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e309',
  '\ud800',
  'x\udfffy',
  '\uffff',
  '\ufeff',
  '\u202e',
  'e\u0301',
  '😀',
  '𝕏'.repeat(300),
  'ß'.repeat(1000),
  'a'.repeat(10_000),
  '<script>alert(1)</script>',
  '$' + '{7*7}',
  '%s%s%n',
  '\r\n',
  '\t',
  '\\',
]

/** Strings: unicode graphemes, any code points, nasty constants, long runs. */
export const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((n) => 'x'.repeat(n)) },
)

export const number: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, 1e308, 5e-324),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE),
)

/** A body sent as this exact text (for nesting too deep to build and stringify here). */
export class RawJson {
  constructor(readonly text: string) {}
}
export const toPayload = (v: unknown): string | undefined =>
  v instanceof RawJson ? v.text : (JSON.stringify(v) as string | undefined)

/** `{"data":{"title":"deep","meta":[[[…]]]}}`: entry data nested `depth` levels deep. */
export const deepEntry = fc
  .integer({ min: 2000, max: 50_000 })
  .map((d) => new RawJson(`{"data":{"title":"deep","meta":${'['.repeat(d)}${']'.repeat(d)}}}`))

/** Nested arrays / objects `depth` levels deep. */
export function nested(depth: number, object: boolean): unknown {
  let v: unknown = 'bottom'
  for (let i = 0; i < depth; i++) v = object ? { a: v } : [v]
  return v
}
export const deep: fc.Arbitrary<unknown> = fc
  .tuple(fc.oneof(fc.integer({ min: 1, max: 150 }), fc.integer({ min: 150, max: 3000 })), fc.boolean())
  .map(([d, o]) => nested(d, o))

export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: text },
  { weight: 2, arbitrary: number },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { '': '' }) },
  { weight: 1, arbitrary: fc.object({ maxDepth: 2 }) },
)

/** A valid-looking body, or one with an extra / missing / wrong-typed field, or anything at all. */
export function mutated(base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  const withKeys = (
    o: Record<string, unknown>,
    i: number,
    f: (c: Record<string, unknown>, k: string) => void,
  ) => {
    const keys = Object.keys(o)
    const c = { ...o }
    if (keys.length > 0) f(c, keys[i % keys.length]!)
    return c
  }
  return fc.oneof(
    { weight: 6, arbitrary: base },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          base,
          fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'id', 'tenant_id', 'version')),
          anyJson,
        )
        .map(([o, k, v]) => ({ ...o, [k]: v })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat()).map(([o, i]) => withKeys(o, i, (c, k) => delete c[k])),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(base, fc.nat(), anyJson).map(([o, i, v]) =>
        withKeys(o, i, (c, k) => {
          c[k] = v
        }),
      ),
    },
    { weight: 2, arbitrary: anyJson },
  )
}

export const DEEP_TEXT = 60_000
/** Request bodies that are not (well-formed, parseable, sane) JSON. */
export const malformed: fc.Arbitrary<string> = fc.oneof(
  text,
  fc.jsonValue().map((v) => {
    const s = JSON.stringify(v)
    return s.slice(0, Math.max(0, s.length - 1))
  }),
  fc.constantFrom(
    '{"email":',
    '{"a":1,}',
    "{'a':1}",
    '\ufeff{}',
    'NaN',
    '{"size":1e999,"data":{"score":1e999,"meta":-1e999}}',
    '{"data":{"count":123456789012345678901234567890,"meta":1e400}}',
    '{"__proto__":{"isAdmin":true}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '{"a":1,"a":2}',
    'null',
    '[]',
    '""',
    '0',
    'true',
    '\u0000',
    '{"name":"\\ud800"}',
    '{"name":"\\u0000"}',
    `${'['.repeat(DEEP_TEXT)}${']'.repeat(DEEP_TEXT)}`,
    `{"data":{"title":"t","meta":${'['.repeat(DEEP_TEXT)}${']'.repeat(DEEP_TEXT)}}}`,
    `{"data":{"title":"t","meta":${'{"a":'.repeat(DEEP_TEXT / 5)}1${'}'.repeat(DEEP_TEXT / 5)}}}`,
    `"${'x'.repeat(1024 * 1024 + 10)}"`,
  ),
)

/** JSON text of the body (mostly), malformed text, or no body. */
export function payloadFrom(body: fc.Arbitrary<unknown>): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 10, arbitrary: body.map(toPayload) },
    { weight: 2, arbitrary: malformed },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )
}
