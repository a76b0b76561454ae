/**
 * Property-based fuzzing (fast-check) of every route in README's HTTP API table, on every
 * dialect: bodies, path params, query strings and headers.
 *
 * Properties, checked on every generated request:
 * 1. never a 5xx;
 * 2. a 4xx changes no row and writes no event (row counts of change_events and of every CMS
 *    table, plus the newest event id, are equal before and after — any write adds an event);
 * 3. every error body is `{ error: { code, message, details?, requestId } }` with a catalogue
 *    code, the catalogue's status, the response's request id, and no stack trace, SQL or file
 *    path (unless the client sent that text itself and it is echoed back in `details`).
 *
 * Reproduce a failure with the printed seed: `FUZZ_SEED=<seed> node --import tsx --test
 * test/http-fuzz.test.ts`; `FUZZ_RUNS` sets the runs per route (default 30).
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import fc from 'fast-check'
import { sql } from 'kysely'
import { ERROR_CODES } from '../packages/audited/src/core/errors.js'
import { ROLES, type Role } from '../packages/cms/src/cms/entities.js'
import { FIELD_TYPES } from '../packages/cms/src/server/routes/content.js'
import { ADMIN, forEachHttpDialect, type HttpFixture, apiToken as sharedApiToken } from './http-setup.js'

const DEFAULT_SEED = 20_240_501
const SEED = process.env.FUZZ_SEED === undefined ? DEFAULT_SEED : Number(process.env.FUZZ_SEED)
const NUM_RUNS = process.env.FUZZ_RUNS === undefined ? 30 : Number(process.env.FUZZ_RUNS)
process.stderr.write(`http-fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${NUM_RUNS} (set both to reproduce a run)\n`)

// ---------------------------------------------------------------------------------- requests

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT' | 'HEAD' | 'OPTIONS'
const METHODS: readonly Method[] = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS']

interface Req {
  readonly method: Method
  readonly url: string
  readonly headers: Record<string, string>
  readonly payload: string | undefined
}

interface Res {
  readonly status: number
  readonly body: string
  readonly headers: Record<string, unknown>
}

/** What the setup created: tokens, ids of this tenant and of another one, real events. */
interface Known {
  tokens: { admin: string; viewer: string; editor: string; auditor: string; other: string }
  tenantId: string
  otherTenantId: string
  adminUserId: string
  userIds: string[]
  otherUserId: string
  tokenIds: string[]
  otherTokenId: string
  entryId: string
  spareEntryIds: string[]
  otherEntryId: string
  webhookId: string
  spareWebhookIds: string[]
  otherWebhookId: string
  mediaId: string
  localeId: string
  events: { eventId: string; table: string; recordId: string }[]
  otherEventId: string
  cursor: string
}

const TABLES = [
  'tenants',
  'users',
  'tokens',
  'content_types',
  'entries',
  'entry_unique_values',
  'locales',
  'media',
  'webhooks',
] as const

/** One round trip: row counts of every CMS table, of change_events, and the newest event id. */
async function snapshot(f: HttpFixture): Promise<Record<string, string>> {
  const columns = [
    sql`(SELECT COUNT(*) FROM change_events) AS change_events`,
    sql`(SELECT MAX(event_id) FROM change_events) AS last_event`,
    ...TABLES.map((t) => sql`(SELECT COUNT(*) FROM ${sql.table(t)}) AS ${sql.ref(t)}`),
  ]
  const { rows } = await sql<Record<string, unknown>>`SELECT ${sql.join(columns)}`.execute(f.db.kysely)
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, String(v)]))
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s)

function describeExchange(req: Req, res: Res): string {
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, clip(v, 200)]))
  return JSON.stringify(
    {
      request: {
        method: req.method,
        url: clip(req.url, 500),
        headers,
        payload: req.payload === undefined ? undefined : clip(req.payload, 800),
      },
      response: { status: res.status, body: clip(res.body, 1500) },
    },
    null,
    2,
  )
}

/** Text a response may not contain (unless the request itself carried it). */
const LEAKS: readonly RegExp[] = [
  /\n\s*at /,
  /\bat [^\s()]+ \([^)]*:\d+:\d+\)/,
  /SELECT /,
  /INSERT /,
  /UPDATE \S+ SET/i,
  /DELETE FROM/i,
  /syntax/i,
  /SQLITE_/,
  /\bER_[A-Z_]+/,
  /\bsqlState\b/i,
  /duplicate key/i,
  /violates .* constraint/i,
  /(?:^|[\s"'(=:])\/(?:work|home|usr|tmp|src|node_modules|var|opt|root)\//,
  /node_modules/,
  /\.[cm]?[tj]s:\d+/,
  /file:\/\//,
]

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

function strings(value: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 50) return out
  if (typeof value === 'string') out.push(value)
  else if (Array.isArray(value)) for (const v of value) strings(v, out, depth + 1)
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      out.push(k)
      strings(v, out, depth + 1)
    }
  return out
}

/** Everything the client sent, as the server may echo it. */
function requestText(req: Req): string {
  const parts = [
    req.url,
    safeDecode(req.url),
    safeDecode(req.url.replace(/\+/g, ' ')),
    ...Object.values(req.headers),
  ]
  if (req.payload !== undefined) {
    parts.push(req.payload)
    try {
      parts.push(...strings(JSON.parse(req.payload)))
    } catch {
      // not JSON: the raw text is already in
    }
  }
  return parts.join('\n')
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function checkErrorBody(req: Req, res: Res): void {
  const show = () => describeExchange(req, res)
  let body: unknown
  try {
    body = JSON.parse(res.body)
  } catch {
    assert.fail(`error body is not JSON:\n${show()}`)
  }
  assert.ok(isObject(body) && isObject(body.error), `error body is not {error: {...}}:\n${show()}`)
  assert.deepEqual(Object.keys(body), ['error'], `error body has other top-level keys:\n${show()}`)
  const e = body.error
  for (const key of Object.keys(e)) {
    assert.ok(
      ['code', 'message', 'details', 'requestId'].includes(key),
      `unexpected key "${key}":\n${show()}`,
    )
  }
  assert.ok(
    typeof e.code === 'string' && Object.hasOwn(ERROR_CODES, e.code),
    `code not in the catalogue:\n${show()}`,
  )
  const status = ERROR_CODES[e.code as keyof typeof ERROR_CODES].status
  assert.equal(res.status, status, `status ${res.status} does not match code ${e.code}:\n${show()}`)
  assert.equal(typeof e.message, 'string', `message is not a string:\n${show()}`)
  assert.ok(e.details === undefined || isObject(e.details), `details is not an object:\n${show()}`)
  assert.equal(typeof e.requestId, 'string', `requestId is not a string:\n${show()}`)
  assert.equal(e.requestId, res.headers['x-request-id'], `requestId differs from X-Request-Id:\n${show()}`)
  if (res.status === 429 || res.status === 503) {
    assert.ok(res.headers['retry-after'] !== undefined, `no Retry-After on ${res.status}:\n${show()}`)
  }
  const sent = requestText(req)
  for (const text of strings(body)) {
    for (const leak of LEAKS) {
      const m = leak.exec(text)
      if (m !== null && !sent.includes(m[0])) {
        assert.fail(`error body leaks internals (${leak}: ${JSON.stringify(m[0])}):\n${show()}`)
      }
    }
  }
}

/** Sends one request and checks the three properties. */
async function exercise(f: HttpFixture, req: Req): Promise<void> {
  const before = await snapshot(f)
  const injected = await f.app.inject({
    method: req.method,
    url: req.url,
    headers: req.headers,
    ...(req.payload === undefined ? {} : { payload: req.payload }),
  })
  const res: Res = { status: injected.statusCode, body: injected.body, headers: injected.headers }
  assert.ok(res.status < 500, `property 1 (no 5xx) failed:\n${describeExchange(req, res)}`)
  if (res.status >= 400) {
    const after = await snapshot(f)
    assert.deepEqual(
      after,
      before,
      `property 2 (a 4xx writes nothing) failed:\n${describeExchange(req, res)}`,
    )
    if (req.method !== 'HEAD') checkErrorBody(req, res)
  }
}

// ------------------------------------------------------------------------------ generators

/** Header values as they can arrive over the wire (no CR/LF/NUL, Latin-1 only). */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')

/** encodeURIComponent that also survives lone surrogates (sent as the bytes of one). */
function enc(s: string): string {
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

const NASTY = [
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
const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((n) => 'x'.repeat(n)) },
)

const number: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, 1e308, 5e-324),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE),
)

/** A body sent as this exact text (for nesting too deep to build and stringify here). */
class RawJson {
  constructor(readonly text: string) {}
}
const toPayload = (v: unknown): string | undefined =>
  v instanceof RawJson ? v.text : (JSON.stringify(v) as string | undefined)

/** `{"data":{"title":"deep","meta":[[[…]]]}}`: entry data nested `depth` levels deep. */
const deepEntry = fc
  .integer({ min: 2000, max: 50_000 })
  .map((d) => new RawJson(`{"data":{"title":"deep","meta":${'['.repeat(d)}${']'.repeat(d)}}}`))

/** Nested arrays / objects `depth` levels deep. */
function nested(depth: number, object: boolean): unknown {
  let v: unknown = 'bottom'
  for (let i = 0; i < depth; i++) v = object ? { a: v } : [v]
  return v
}
const deep: fc.Arbitrary<unknown> = fc
  .tuple(fc.oneof(fc.integer({ min: 1, max: 150 }), fc.integer({ min: 150, max: 3000 })), fc.boolean())
  .map(([d, o]) => nested(d, o))

const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: text },
  { weight: 2, arbitrary: number },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { '': '' }) },
  { weight: 1, arbitrary: fc.object({ maxDepth: 2 }) },
)

/** A valid-looking body, or one with an extra / missing / wrong-typed field, or anything at all. */
function mutated(base: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
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

const DEEP_TEXT = 60_000
/** Request bodies that are not (well-formed, parseable, sane) JSON. */
const malformed: fc.Arbitrary<string> = fc.oneof(
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
function payloadFrom(body: fc.Arbitrary<unknown>): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 10, arbitrary: body.map(toPayload) },
    { weight: 2, arbitrary: malformed },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )
}

const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/xml',
      'application/vnd.api+json',
      'application/jsonx',
      '*/*',
      '',
      ';;;',
    ),
  },
  { weight: 1, arbitrary: text.map(headerSafe) },
  { weight: 2, arbitrary: fc.constant(undefined) },
)

const requestId: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      text.map(headerSafe),
      fc.constantFrom('a'.repeat(128), 'a'.repeat(129), '../../x', 'id with spaces', '<b>', 'ü', 'a\tb'),
    ),
  },
)

const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'user-agent': fc.oneof(text, fc.constant('u'.repeat(5000))),
      'x-forwarded-for': fc.constantFrom('203.0.113.7', '::1', 'junk, , ,', '999.999.999.999'),
      accept: fc.constantFrom('application/xml', '*/*', 'text/csv', 'application/json;q=0', ''),
      'accept-language': text,
      cookie: text,
    },
    { requiredKeys: [] },
  )
  .map((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, headerSafe(v)])))

function authorization(K: Known): fc.Arbitrary<string | undefined> {
  const t = K.tokens
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${t.admin}`) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(t.viewer, t.editor, t.auditor, t.other).map((x) => `Bearer ${x}`),
    },
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        text.map(headerSafe),
        text.map((s) => headerSafe(`Bearer ${s}`)),
        fc.constantFrom(
          'Basic YWRtaW46YWRtaW4=',
          'Bearer',
          'Bearer ',
          `bearer ${t.admin}`,
          `Bearer  ${t.admin}`,
          `Bearer ${t.admin} `,
          `Bearer ${t.admin}x`,
          `Bearer ${t.admin.slice(0, -1)}`,
          `Bearer aud_${'0'.repeat(40)}`,
          `Bearer ${'A'.repeat(201)}`,
          `Bearer ${'A'.repeat(100_000)}`,
          'Bearer ../../etc/passwd',
          'Bearer %00',
          `Bearer ${t.admin}, Bearer ${t.viewer}`,
        ),
      ),
    },
  )
}

const ULID_CHARS = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** Valid-looking ULIDs that name nothing. */
const ulid: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...ULID_CHARS),
  minLength: 26,
  maxLength: 26,
})
const nearUlid: fc.Arbitrary<string> = fc.oneof(
  ulid.map((u) => u.toLowerCase()),
  ulid.map((u) => `${u.slice(0, 25)}U`),
  ulid.map((u) => u.slice(1)),
  ulid.map((u) => `${u}0`),
)

/** Odd but well-formed segments (every percent escape decodes). */
const RAW_SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f',
  '%00',
  'a%00b',
  'a%2Fb',
  '%20',
  '%EF%BF%BD',
  ';',
  'a;b=c',
  '*',
  '~',
  ':id',
  '%3Cscript%3E',
]

/** Segments the router itself refuses: malformed percent escapes, and parameters longer than
 * its 100-character limit. Fuzzed by their own property, so that they do not hide what the
 * per-route properties find behind the router's answer. */
const ROUTER_BAD_SEGMENTS: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('%', '%zz', '%ff', '%c0%af', '%ED%A0%80', 'a%', '%%', '%e2%82'),
  fc.integer({ min: 101, max: 6000 }).map((n) => 'A'.repeat(n)),
  fc.integer({ min: 101, max: 400 }).map((n) => enc('ß'.repeat(n))),
)

/** Cuts an encoded segment to `max` characters without splitting a percent escape. */
function fit(segment: string, max = 100): string {
  let s = segment.length > max ? segment.slice(0, max) : segment
  for (;;) {
    try {
      decodeURIComponent(s)
      return s
    } catch {
      s = s.slice(0, -1)
    }
  }
}

/** A path segment: a known id (also another tenant's), a ULID naming nothing, or junk. */
function seg(valid: readonly string[]): fc.Arbitrary<string> {
  const junk = [
    { weight: 2, arbitrary: ulid },
    { weight: 1, arbitrary: nearUlid },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    { weight: 2, arbitrary: text.map((t) => fit(enc(t))) },
    { weight: 1, arbitrary: fc.nat({ max: 100 }).map((n) => 'A'.repeat(n)) },
  ]
  return valid.length === 0
    ? fc.oneof(...junk)
    : fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...valid).map(enc) }, ...junk)
}

const limit: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 200 }).map(String),
  fc.constantFrom(
    '0',
    '-1',
    '201',
    '1000',
    '1001',
    '10000',
    '1e3',
    '01',
    ' 5',
    '5 ',
    '1.5',
    'abc',
    '',
    '9'.repeat(30),
  ),
  text,
)

const cursor = (K: Known): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant(K.cursor),
    ulid,
    nearUlid,
    text,
    fc.constantFrom('eyJobGMiOiIxIn0', '0', '-1', 'null', '99999999999999999999:ZZZZ', ':', 'a'.repeat(300)),
  )

const pointInTime: fc.Arbitrary<string> = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
  fc.constantFrom(
    '2024-05-01',
    '2024-02-30',
    '2024-13-01T00:00:00Z',
    '2024-05-01T99:99:99Z',
    '2024-05-01 12:00:00+0000',
    '9999-99-99',
    '0000-00-00',
    '0',
    '99999999999999999999',
    '18446744073709551616',
    '9223372036854775808',
    '00000000000000000001',
  ),
  text,
)

type Pair = readonly [string, fc.Arbitrary<string>]

/** A query string: known keys with good and bad values, random keys, raw junk. */
function query(known: readonly Pair[]): fc.Arbitrary<string> {
  const pair: fc.Arbitrary<[string, string]> =
    known.length === 0
      ? fc.tuple(text, text)
      : fc.oneof(
          {
            weight: 6,
            arbitrary: fc.oneof(...known.map(([k, v]) => v.map((x): [string, string] => [k, x]))),
          },
          { weight: 1, arbitrary: fc.tuple(text, text) },
        )
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.array(pair, { maxLength: 4 }).map((ps) => new URLSearchParams(ps).toString()),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '%zz',
        'a[b]=1',
        'limit=1&limit=2',
        'after=&after=',
        '&&&',
        '=',
        'a=%00',
        '__proto__[x]=1',
        'constructor=1',
        `x=${'y'.repeat(10_000)}`,
      ),
    },
  )
}

/** A well-formed request (path, query, body) that the route should accept. */
interface Valid {
  readonly path: string
  readonly query: string
  readonly body: unknown
}

interface Shape {
  readonly method: Method
  readonly path: fc.Arbitrary<string>
  readonly query?: fc.Arbitrary<string>
  readonly body?: fc.Arbitrary<unknown>
  /** Well-formed requests, sent cleanly (right method, JSON, an admin or editor token) about
   * a third of the time, so that success paths and the checks behind the schema run too. */
  readonly valid?: fc.Arbitrary<Valid>
}

const valid = (
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<unknown> = fc.constant(undefined),
  query: fc.Arbitrary<string> = fc.constant(''),
): fc.Arbitrary<Valid> => fc.record({ path, query, body })

const junkQuery = query([])

/** A request of this shape, with random auth, request id, content type and extra headers;
 * now and then with another method. */
function request(K: Known, shape: Shape): fc.Arbitrary<Req> {
  const fuzzed = fc
    .record({
      method: fc.oneof(
        { weight: 15, arbitrary: fc.constant(shape.method) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      path: shape.path,
      query: fc.oneof(
        { weight: 1, arbitrary: fc.constant('') },
        { weight: 3, arbitrary: shape.query ?? junkQuery },
      ),
      auth: authorization(K),
      rid: requestId,
      payload:
        shape.body === undefined
          ? fc.oneof(
              { weight: 5, arbitrary: fc.constant(undefined) },
              { weight: 1, arbitrary: payloadFrom(anyJson) },
            )
          : payloadFrom(shape.body),
      contentType,
      extra: extraHeaders,
    })
    .map(({ method, path, query, auth, rid, payload, contentType, extra }): Req => {
      const headers: Record<string, string> = { ...extra }
      if (auth !== undefined) headers.authorization = auth
      if (rid !== undefined) headers['x-request-id'] = rid
      if (contentType !== undefined && (payload !== undefined || shape.body !== undefined)) {
        headers['content-type'] = contentType
      }
      return { method, url: query === '' ? path : `${path}?${query}`, headers, payload }
    })
  if (shape.valid === undefined) return fuzzed
  const clean = fc
    .record({
      v: shape.valid,
      token: fc.constantFrom(K.tokens.admin, K.tokens.admin, K.tokens.editor),
      rid: fc.option(fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/), { nil: undefined }),
    })
    .map(({ v, token, rid }): Req => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` }
      if (rid !== undefined) headers['x-request-id'] = rid
      if (v.body !== undefined) headers['content-type'] = 'application/json'
      return {
        method: shape.method,
        url: v.query === '' ? v.path : `${v.path}?${v.query}`,
        headers,
        payload: v.body === undefined ? undefined : toPayload(v.body),
      }
    })
  return fc.oneof({ weight: 2, arbitrary: fuzzed }, { weight: 1, arbitrary: clean })
}

// ------------------------------------------------------------------------- body generators

const role: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ROLES) },
  { weight: 1, arbitrary: fc.constantFrom('ADMIN', 'platform_admin', 'owner', 'root') },
  { weight: 1, arbitrary: anyJson },
)
const email: fc.Arbitrary<unknown> = fc.oneof(
  fc.emailAddress(),
  fc.constantFrom(ADMIN.email, ADMIN.email.toUpperCase(), 'a@b.c', 'no-at-sign', '@x.y', 'a@b', 'a b@c.d'),
  text,
)
const url: fc.Arbitrary<unknown> = fc.oneof(
  fc.webUrl(),
  fc.constantFrom(
    'http://example.com/hook',
    'https://example.com/?q=1#x',
    'javascript:alert(1)',
    'ftp://example.com',
    'http://user@example.com/',
    'http://',
    `https://example.com/${'a'.repeat(2000)}`,
    'http://exa mple.com',
  ),
  text,
)
const typeKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('article', 'scratch', 'other_type', 'a'.repeat(64), 'a'.repeat(65)),
  },
  { weight: 1, arbitrary: text },
)
const field: fc.Arbitrary<unknown> = mutated(
  fc.record(
    {
      name: fc.oneof(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,10}$/), text),
      type: fc.oneof(fc.constantFrom(...FIELD_TYPES), text),
      required: fc.boolean(),
      unique: fc.boolean(),
      options: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'c', 'a')), fc.array(text, { maxLength: 3 })),
    },
    { requiredKeys: ['name', 'type'] },
  ),
)
const version: fc.Arbitrary<unknown> = fc.oneof(fc.integer({ min: 1, max: 6 }), number, text)
const locale: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('en', 'fr', 'pt-BR', 'zh-Hant-TW', 'abc-abcdefgh-abcdefgh', 'EN'),
  fc.stringMatching(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,2}$/),
  text,
)
const status: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('draft', 'published', 'archived', 'deleted'),
  text,
)
const datetime: fc.Arbitrary<unknown> = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2024-05-01',
    '2024-02-30',
    '2024-05-01T12:00Z',
    '2024-05-01T12:00:00.123456789+14:00',
    '+275760-09-13T00:00:00.000Z',
    '0000-01-01',
  ),
  text,
)

/** Data for the `article` type: mostly the right types, sometimes not. */
function articleData(K: Known): fc.Arbitrary<unknown> {
  const orJunk = <T>(good: fc.Arbitrary<T>) =>
    fc.oneof(
      { weight: 5, arbitrary: good as fc.Arbitrary<unknown> },
      { weight: 1, arbitrary: anyJson },
      { weight: 1, arbitrary: fc.constant(null) },
    )
  return mutated(
    fc.record(
      {
        title: orJunk(fc.oneof(text, fc.constant('t'.repeat(1001)))),
        slug: orJunk(fc.oneof(fc.constantFrom('hello', 'spare-0', 'other'), fc.uuid())),
        body: orJunk(fc.oneof(text, fc.constant('b'.repeat(100_001)))),
        count: orJunk(fc.oneof(fc.integer(), number)),
        score: orJunk(number),
        flag: orJunk(fc.boolean()),
        when: orJunk(datetime),
        meta: orJunk(fc.oneof(fc.jsonValue(), deep)),
        kind: orJunk(fc.oneof(fc.constantFrom('a', 'b', 'c'), text)),
        ref: orJunk(
          fc.oneof(
            fc.constantFrom(K.entryId, K.otherEntryId, K.webhookId, ...K.spareEntryIds),
            ulid,
            nearUlid,
          ),
        ),
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<Record<string, unknown>>,
  )
}

// ------------------------------------------------------------------ well-formed generators

const goodName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((x) => /\S/.test(x))
const goodFieldName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,10}$/)
const goodField = fc.oneof(
  fc.record(
    {
      name: goodFieldName,
      type: fc.constantFrom(...FIELD_TYPES.filter((t) => t !== 'enum')),
      required: fc.boolean(),
      unique: fc.boolean(),
    },
    { requiredKeys: ['name', 'type'] },
  ),
  fc.record(
    {
      name: goodFieldName,
      type: fc.constant('enum'),
      options: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 4 }),
      unique: fc.boolean(),
    },
    { requiredKeys: ['name', 'type', 'options'] },
  ),
)
const goodFields = fc.uniqueArray(goodField, { selector: (x) => x.name, maxLength: 5 })
const goodEmail = fc.uuid().map((u) => `${u}@example.test`)
const goodPassword = fc.nat().map((n) => `password-${n}`)
const goodRole = fc.constantFrom(...ROLES)
const goodUrl = fc.nat().map((n) => `https://hooks.example/${n}?x=1`)
const goodEvents = fc.uniqueArray(fc.constantFrom('*', 'entry.*', 'entry.published', 'media.created'), {
  minLength: 1,
})
const goodDate = fc
  .date({ min: new Date(0), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString())
const goodPage = fc
  .record({ limit: fc.integer({ min: 1, max: 200 }).map(String), after: ulid }, { requiredKeys: [] })
  .map((o) => new URLSearchParams(o).toString())

/** Well-typed data for the `article` type (the slug is now and then already taken). */
function goodArticle(K: Known, requireTitle: boolean) {
  return fc.record(
    {
      title: fc.string({ maxLength: 50 }),
      slug: fc.oneof(
        { weight: 6, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: fc.constantFrom('hello', 'spare-0') },
      ),
      body: fc.string({ maxLength: 200 }),
      count: fc.integer(),
      score: fc.double({ noNaN: true, noDefaultInfinity: true }),
      flag: fc.boolean(),
      when: goodDate,
      meta: fc.oneof({ weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: deep }),
      kind: fc.constantFrom('a', 'b', 'c'),
      ref: fc.constantFrom(K.entryId, ...K.spareEntryIds),
    },
    { requiredKeys: requireTitle ? ['title'] : [] },
  )
}

// ---------------------------------------------------------------------------------- routes

const p = (...parts: string[]) => `/${parts.join('/')}`
const api = (...parts: string[]) => p('api', 'v1', ...parts)
const constPath = (path: string) => fc.constant(path)
const pageKeys = (K: Known): Pair[] => [
  ['limit', limit],
  ['after', cursor(K)],
]
const tablesSeg = seg([...TABLES, 'change_events', 'audited_migrations', 'TENANTS'])

/** Every route of the README's HTTP API table, one generator each. Order matters a little:
 * reads and creates first, destructive calls last, so valid ids stay valid for longer. */
function routes(K: Known): [string, fc.Arbitrary<Req>][] {
  const typeSeg = seg(['article', 'scratch', 'other_type', 'missing_type'])
  const entryIdSeg = seg([K.entryId, ...K.spareEntryIds, K.otherEntryId])
  const userIdSeg = seg([K.adminUserId, ...K.userIds, K.otherUserId])
  const webhookSeg = seg([K.webhookId, ...K.spareWebhookIds, K.otherWebhookId])
  const eventSeg = seg([...K.events.map((e) => e.eventId), K.otherEventId])
  const recordSeg = seg([...K.events.map((e) => e.recordId), K.otherEntryId, K.otherTenantId])
  const entry = (suffix: string[] = []) =>
    fc.tuple(typeSeg, entryIdSeg).map(([t, id]) => api('entries', t, id, ...suffix))
  const auditListKeys: Pair[] = [
    ['table', fc.oneof(fc.constantFrom(...TABLES), text)],
    ['recordId', fc.oneof(fc.constantFrom(K.entryId, K.webhookId, K.otherEntryId), text)],
    ['actorId', fc.oneof(fc.constantFrom(K.adminUserId, 'system'), text)],
    [
      'action',
      fc.oneof(fc.constantFrom('create', 'update', 'delete', 'publish', 'unpublish', 'restore'), text),
    ],
    ['from', pointInTime],
    ['to', pointInTime],
    ['after', cursor(K)],
    ['limit', fc.oneof(limit, fc.integer({ min: 1, max: 9999 }).map(String))],
  ]
  const restorePath = fc.oneof(
    fc.constantFrom(...K.events).map((e) => api('audit', 'restore', e.table, e.recordId)),
    fc.tuple(tablesSeg, recordSeg).map(([t, id]) => api('audit', 'restore', t, id)),
  )
  const R = (shape: Shape) => request(K, shape)
  return [
    ['GET /health', R({ valid: valid(constPath('/health')), method: 'GET', path: constPath('/health') })],
    ['GET /ready', R({ valid: valid(constPath('/ready')), method: 'GET', path: constPath('/ready') })],
    ['GET /metrics', R({ valid: valid(constPath('/metrics')), method: 'GET', path: constPath('/metrics') })],
    [
      'GET /openapi.json',
      R({ valid: valid(constPath('/openapi.json')), method: 'GET', path: constPath('/openapi.json') }),
    ],
    [
      'GET /docs',
      R({
        valid: valid(fc.constantFrom('/docs', '/docs/', '/docs/json', '/docs/static/index.html')),
        method: 'GET',
        path: fc.oneof(
          fc.constantFrom('/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/index.html'),
          fc.constantFrom('/docs/static/../../../package.json', '/docs/%2e%2e/%2e%2e/package.json'),
          fc.constantFrom('/docs/static/%00', '/docs/static/..%2f..%2fpackage.json', '/docs//etc/passwd'),
          seg([]).map((s) => `/docs/static/${s}`),
        ),
      }),
    ],
    [
      'POST /api/v1/auth/login',
      R({
        valid: valid(
          constPath(api('auth', 'login')),
          fc.record({
            email: fc.constantFrom(ADMIN.email, ADMIN.email.toUpperCase()),
            password: fc.oneof(fc.constant(ADMIN.password), goodPassword),
          }),
        ),
        method: 'POST',
        path: constPath(api('auth', 'login')),
        body: mutated(
          fc.record({
            email,
            password: fc.oneof(fc.constant(ADMIN.password), text, fc.constant('p'.repeat(201))),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/roles',
      R({ valid: valid(constPath(api('roles'))), method: 'GET', path: constPath(api('roles')) }),
    ],
    [
      'GET /api/v1/tenants/:id',
      R({
        valid: valid(fc.constantFrom(K.tenantId, K.otherTenantId).map((id) => api('tenants', id))),
        method: 'GET',
        path: seg([K.tenantId, K.otherTenantId]).map((id) => api('tenants', id)),
      }),
    ],
    [
      'POST /api/v1/tenants',
      R({
        valid: valid(constPath(api('tenants')), fc.record({ name: goodName })),
        method: 'POST',
        path: constPath(api('tenants')),
        body: mutated(fc.record({ name: text })),
      }),
    ],
    [
      'PATCH /api/v1/tenants/:id',
      R({
        valid: valid(
          constPath(api('tenants', K.otherTenantId)),
          fc.record({
            limits: fc.record({
              writesPerSecond: fc.integer({ min: 1000, max: 100_000 }),
              burst: fc.integer({ min: 1000, max: 1_000_000 }),
              maxEntries: fc.integer({ min: 1000, max: 100_000_000 }),
            }),
          }),
        ),
        method: 'PATCH',
        // Not this tenant: a tight limit here would turn the rest of the run into 429s.
        path: seg([K.otherTenantId]).map((id) => api('tenants', id)),
        body: mutated(
          fc.record({
            limits: mutated(
              fc.record(
                {
                  writesPerSecond: fc.oneof(fc.integer({ min: 1, max: 100_000 }), number),
                  burst: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), number),
                  maxEntries: fc.oneof(fc.integer({ min: 1, max: 100_000_000 }), number),
                },
                { requiredKeys: [] },
              ),
            ),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/users',
      R({
        valid: valid(constPath(api('users')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('users')),
        query: query([...pageKeys(K), ['role', role.map(String)]]),
      }),
    ],
    [
      'GET /api/v1/users/:id',
      R({
        valid: valid(fc.constantFrom(K.adminUserId, ...K.userIds).map((id) => api('users', id))),
        method: 'GET',
        path: userIdSeg.map((id) => api('users', id)),
      }),
    ],
    [
      'POST /api/v1/users',
      R({
        valid: valid(
          constPath(api('users')),
          fc.record(
            { email: goodEmail, password: goodPassword, role: goodRole, name: fc.option(goodName) },
            { requiredKeys: ['email', 'password', 'role'] },
          ),
        ),
        method: 'POST',
        path: constPath(api('users')),
        body: mutated(
          fc.record(
            {
              email,
              password: fc.oneof(fc.string({ minLength: 8, maxLength: 20 }), text),
              role,
              name: fc.oneof(text, fc.constant(null)),
            },
            { requiredKeys: ['email', 'password', 'role'] },
          ),
        ),
      }),
    ],
    [
      'PATCH /api/v1/users/:id',
      R({
        valid: valid(
          fc.constantFrom(...K.userIds).map((id) => api('users', id)),
          fc.oneof(
            fc.record({ name: fc.option(goodName) }),
            fc.record({ role: goodRole }),
            fc.record({ password: goodPassword }),
          ),
        ),
        method: 'PATCH',
        // Not the admin's own account: a password change would end the session the run uses.
        path: seg([...K.userIds, K.otherUserId]).map((id) => api('users', id)),
        body: mutated(
          fc.record(
            {
              name: fc.oneof(text, fc.constant(null)),
              role,
              password: fc.oneof(fc.string({ minLength: 8, maxLength: 20 }), text),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
    ],
    [
      'GET /api/v1/tokens',
      R({
        valid: valid(constPath(api('tokens')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('tokens')),
        query: query([...pageKeys(K), ['kind', fc.oneof(fc.constantFrom('api', 'session'), text)]]),
      }),
    ],
    [
      'POST /api/v1/tokens',
      R({
        valid: valid(constPath(api('tokens')), fc.record({ name: goodName, role: goodRole })),
        method: 'POST',
        path: constPath(api('tokens')),
        body: mutated(fc.record({ name: text, role })),
      }),
    ],
    [
      'GET /api/v1/content-types',
      R({
        valid: valid(constPath(api('content-types')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('content-types')),
        query: query(pageKeys(K)),
      }),
    ],
    [
      'GET /api/v1/content-types/:key',
      R({
        valid: valid(fc.constantFrom('article', 'scratch').map((k) => api('content-types', k))),
        method: 'GET',
        path: typeSeg.map((k) => api('content-types', k)),
      }),
    ],
    [
      'POST /api/v1/content-types',
      R({
        valid: valid(
          constPath(api('content-types')),
          fc.record({ key: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), name: goodName, fields: goodFields }),
        ),
        method: 'POST',
        path: constPath(api('content-types')),
        body: mutated(
          fc.record({
            key: typeKey,
            name: text,
            fields: fc.oneof(
              fc.array(field, { maxLength: 5 }),
              fc.constant(Array(101).fill({ name: 'a', type: 'json' })),
            ),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/entries/:type',
      R({
        valid: valid(
          constPath(api('entries', 'article')),
          undefined,
          fc
            .record(
              {
                limit: fc.integer({ min: 1, max: 200 }).map(String),
                status: fc.constantFrom('draft', 'published', 'archived'),
                locale: fc.constantFrom('en', 'fr'),
              },
              { requiredKeys: [] },
            )
            .map((o) => new URLSearchParams(o).toString()),
        ),
        method: 'GET',
        path: typeSeg.map((t) => api('entries', t)),
        query: query([...pageKeys(K), ['status', status.map(String)], ['locale', locale.map(String)]]),
      }),
    ],
    [
      'POST /api/v1/entries/:type',
      R({
        valid: valid(
          constPath(api('entries', 'article')),
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc.record(
                {
                  data: goodArticle(K, true),
                  locale: fc.constantFrom('en', 'fr', 'pt-BR'),
                  status: fc.constantFrom('draft', 'published', 'archived'),
                },
                { requiredKeys: ['data'] },
              ),
            },
            { weight: 1, arbitrary: deepEntry },
          ),
        ),
        method: 'POST',
        path: typeSeg.map((t) => api('entries', t)),
        body: mutated(fc.record({ data: articleData(K), locale, status }, { requiredKeys: ['data'] })),
      }),
    ],
    [
      'GET /api/v1/entries/:type/:id',
      R({
        valid: valid(
          fc.constantFrom(K.entryId, ...K.spareEntryIds).map((id) => api('entries', 'article', id)),
        ),
        method: 'GET',
        path: entry(),
      }),
    ],
    [
      'PATCH /api/v1/entries/:type/:id',
      R({
        valid: valid(
          fc.constantFrom(K.entryId, ...K.spareEntryIds).map((id) => api('entries', 'article', id)),
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc.record(
                { data: goodArticle(K, false), locale: fc.constantFrom('en', 'fr') },
                { requiredKeys: [] },
              ),
            },
            { weight: 1, arbitrary: deepEntry },
          ),
        ),
        method: 'PATCH',
        path: entry(),
        body: mutated(fc.record({ data: articleData(K), locale, version }, { requiredKeys: [] })),
      }),
    ],
    [
      'POST /api/v1/entries/:type/:id/publish',
      R({
        valid: valid(
          fc
            .constantFrom(K.entryId, ...K.spareEntryIds)
            .map((id) => api('entries', 'article', id, 'publish')),
          fc.constantFrom(undefined, {}),
        ),
        method: 'POST',
        path: entry(['publish']),
        body: fc.oneof(fc.constant(undefined), mutated(fc.record({ version }, { requiredKeys: [] }))),
      }),
    ],
    [
      'POST /api/v1/entries/:type/:id/unpublish',
      R({
        valid: valid(
          fc
            .constantFrom(K.entryId, ...K.spareEntryIds)
            .map((id) => api('entries', 'article', id, 'unpublish')),
          fc.constantFrom(undefined, {}),
        ),
        method: 'POST',
        path: entry(['unpublish']),
        body: fc.oneof(fc.constant(undefined), mutated(fc.record({ version }, { requiredKeys: [] }))),
      }),
    ],
    [
      'GET /api/v1/locales',
      R({
        valid: valid(constPath(api('locales')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('locales')),
        query: query(pageKeys(K)),
      }),
    ],
    [
      'POST /api/v1/locales',
      R({
        valid: valid(
          constPath(api('locales')),
          fc.record({ code: fc.stringMatching(/^[a-z]{2,3}(-[A-Z]{2})?$/), name: goodName }),
        ),
        method: 'POST',
        path: constPath(api('locales')),
        body: mutated(
          fc.record({
            code: fc.oneof(
              fc.constantFrom('fr', 'de', 'en-US', 'zh-Hant-TW', 'es-419', 'EN'),
              fc.stringMatching(/^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$/),
              text,
            ),
            name: fc.oneof(text, fc.constant('n'.repeat(101))),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/media',
      R({
        valid: valid(constPath(api('media')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('media')),
        query: query(pageKeys(K)),
      }),
    ],
    [
      'POST /api/v1/media',
      R({
        valid: valid(
          constPath(api('media')),
          fc.record({
            filename: fc.uuid().map((u) => `${u}.png`),
            mime: fc.constantFrom('image/png', 'application/pdf'),
            size: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
            checksum: fc.stringMatching(/^[A-Za-z0-9]{8,64}$/),
            url: goodUrl,
          }),
        ),
        method: 'POST',
        path: constPath(api('media')),
        body: mutated(
          fc.record({
            filename: fc.oneof(fc.constantFrom('a.png', '../a.png', 'a\u0000.png', 'f'.repeat(256)), text),
            mime: fc.oneof(fc.constantFrom('image/png', 'application/octet-stream', 'image/', 'x/y/z'), text),
            size: fc.oneof(fc.nat(), number, fc.constant(Number.MAX_SAFE_INTEGER)),
            checksum: fc.oneof(fc.stringMatching(/^[A-Za-z0-9:+/=_-]{8,128}$/), text),
            url,
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/webhooks',
      R({
        valid: valid(constPath(api('webhooks')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('webhooks')),
        query: query(pageKeys(K)),
      }),
    ],
    [
      'GET /api/v1/webhooks/:id',
      R({
        valid: valid(constPath(api('webhooks', K.webhookId))),
        method: 'GET',
        path: webhookSeg.map((id) => api('webhooks', id)),
      }),
    ],
    [
      'POST /api/v1/webhooks',
      R({
        valid: valid(
          constPath(api('webhooks')),
          fc.record(
            { url: goodUrl, events: goodEvents, active: fc.boolean() },
            { requiredKeys: ['url', 'events'] },
          ),
        ),
        method: 'POST',
        path: constPath(api('webhooks')),
        body: mutated(
          fc.record(
            {
              url,
              events: fc.oneof(
                fc.array(
                  fc.oneof(
                    fc.constantFrom('*', 'entry.*', 'entry.published', 'entry.published'),
                    fc.stringMatching(/^[a-z][a-z0-9_]{0,8}(\.[a-z*]{1,5})?$/),
                    text,
                  ),
                  { maxLength: 40 },
                ),
                anyJson,
              ),
              active: fc.oneof(fc.boolean(), anyJson),
            },
            { requiredKeys: ['url', 'events'] },
          ),
        ),
      }),
    ],
    [
      'PATCH /api/v1/webhooks/:id',
      R({
        valid: valid(
          constPath(api('webhooks', K.webhookId)),
          fc.record({ url: goodUrl, events: goodEvents, active: fc.boolean() }, { requiredKeys: ['active'] }),
        ),
        method: 'PATCH',
        path: seg([K.webhookId, K.otherWebhookId]).map((id) => api('webhooks', id)),
        body: mutated(
          fc.record(
            {
              url,
              events: fc.oneof(fc.array(fc.constantFrom('*', 'entry.*', 'x.y'), { maxLength: 3 }), anyJson),
              active: fc.oneof(fc.boolean(), anyJson),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
    ],
    [
      'GET /api/v1/audit/events',
      R({
        valid: valid(
          constPath(api('audit', 'events')),
          undefined,
          fc
            .record(
              {
                table: fc.constantFrom(...TABLES.filter((t) => t !== 'entry_unique_values')),
                action: fc.constantFrom('create', 'update', 'publish'),
                from: goodDate,
                limit: fc.integer({ min: 1, max: 1000 }).map(String),
                after: fc.constant(K.cursor),
              },
              { requiredKeys: [] },
            )
            .map((o) => new URLSearchParams(o).toString()),
        ),
        method: 'GET',
        path: constPath(api('audit', 'events')),
        query: query(auditListKeys),
      }),
    ],
    [
      'GET /api/v1/audit/events/:eventId',
      R({
        valid: valid(fc.constantFrom(...K.events).map((e) => api('audit', 'events', e.eventId))),
        method: 'GET',
        path: eventSeg.map((e) => api('audit', 'events', e)),
      }),
    ],
    [
      'GET /api/v1/audit/history/:table/:id',
      R({
        valid: valid(fc.constantFrom(...K.events).map((e) => api('audit', 'history', e.table, e.recordId))),
        method: 'GET',
        path: fc.tuple(tablesSeg, recordSeg).map(([t, id]) => api('audit', 'history', t, id)),
      }),
    ],
    [
      'GET /api/v1/audit/state/:table/:id',
      R({
        valid: valid(
          fc.constantFrom(...K.events).map((e) => api('audit', 'state', e.table, e.recordId)),
          undefined,
          fc
            .oneof(goodDate, fc.constant(new Date().toISOString()))
            .map((at) => `at=${encodeURIComponent(at)}`),
        ),
        method: 'GET',
        path: fc.tuple(tablesSeg, recordSeg).map(([t, id]) => api('audit', 'state', t, id)),
        query: query([['at', pointInTime]]),
      }),
    ],
    [
      'POST /api/v1/audit/restore/:table/:id',
      R({
        valid: fc.constantFrom(...K.events).map((e) => ({
          path: api('audit', 'restore', e.table, e.recordId),
          query: '',
          body: { eventId: e.eventId },
        })),
        method: 'POST',
        path: restorePath,
        body: mutated(
          fc.record({
            eventId: fc.oneof(fc.constantFrom(...K.events.map((e) => e.eventId), K.otherEventId), ulid, text),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/audit/export',
      R({
        valid: valid(
          constPath(api('audit', 'export')),
          undefined,
          fc
            .record({ format: fc.constantFrom('ndjson', 'csv'), from: goodDate }, { requiredKeys: [] })
            .map((o) => new URLSearchParams(o).toString()),
        ),
        method: 'GET',
        path: constPath(api('audit', 'export')),
        query: query([
          ['format', fc.oneof(fc.constantFrom('ndjson', 'csv', 'json', 'CSV'), text)],
          ['from', pointInTime],
          ['to', pointInTime],
        ]),
      }),
    ],
    [
      'PATCH /api/v1/content-types/:key',
      R({
        valid: fc.oneof(
          valid(
            constPath(api('content-types', 'scratch')),
            fc.record({ name: goodName, fields: goodFields }, { requiredKeys: [] }),
          ),
          valid(constPath(api('content-types', 'article')), fc.record({ name: goodName })),
        ),
        method: 'PATCH',
        path: seg(['scratch', 'article', 'other_type', 'missing_type']).map((k) => api('content-types', k)),
        body: mutated(
          fc.record({ name: text, fields: fc.array(field, { maxLength: 4 }), version }, { requiredKeys: [] }),
        ),
      }),
    ],
    [
      'malformed and overlong path parameters (every route with parameters)',
      fc.tuple(fc.constantFrom(...PARAM_ROUTES), fc.nat()).chain(([[method, template], n]) => {
        const params = template.split('/').filter((x) => x.startsWith(':')).length
        return R({
          method,
          path: ROUTER_BAD_SEGMENTS.map((bad) => {
            let k = 0
            return template.replace(/:(\w+)/g, (_m, name: string) =>
              k++ === n % params ? bad : enc(paramValue(K, name)),
            )
          }),
        })
      }),
    ],
    [
      'unmatched routes and methods',
      R({
        method: 'GET',
        path: fc.oneof(
          fc
            .array(seg(['api', 'v1', 'entries', 'users', 'audit', 'article', K.entryId]), { maxLength: 6 })
            .map((parts) => `/${parts.join('/')}`),
          fc.constantFrom(
            '//api/v1/roles',
            '/api/v1/roles/',
            '/API/V1/ROLES',
            '/api/v1/../v1/roles',
            '/api/v1/%2e%2e/v1/roles',
            '/api/v2/roles',
            '/api/v1/entries',
            '/api/v1/audit/history/entries',
            '/api/v1/tenants',
            '*',
          ),
        ),
      }),
    ],
    // Destructive routes last.
    [
      'DELETE /api/v1/entries/:type/:id',
      R({
        valid: valid(fc.constantFrom(...K.spareEntryIds).map((id) => api('entries', 'article', id))),
        method: 'DELETE',
        path: fc
          .tuple(typeSeg, seg([...K.spareEntryIds, K.otherEntryId]))
          .map(([t, id]) => api('entries', t, id)),
      }),
    ],
    [
      'DELETE /api/v1/webhooks/:id',
      R({
        valid: valid(fc.constantFrom(...K.spareWebhookIds).map((id) => api('webhooks', id))),
        method: 'DELETE',
        path: seg([...K.spareWebhookIds, K.otherWebhookId]).map((id) => api('webhooks', id)),
      }),
    ],
    [
      'DELETE /api/v1/tokens/:id',
      R({
        valid: valid(fc.constantFrom(...K.tokenIds).map((id) => api('tokens', id))),
        method: 'DELETE',
        path: seg([...K.tokenIds, K.otherTokenId]).map((id) => api('tokens', id)),
      }),
    ],
    [
      'DELETE /api/v1/users/:id',
      R({
        valid: valid(fc.constantFrom(...K.userIds).map((id) => api('users', id))),
        method: 'DELETE',
        path: userIdSeg.map((id) => api('users', id)),
      }),
    ],
    [
      'DELETE /api/v1/content-types/:key',
      R({
        valid: valid(fc.constantFrom('scratch_drop', 'article').map((k) => api('content-types', k))),
        method: 'DELETE',
        path: seg(['scratch_drop', 'article', 'other_type', 'missing_type']).map((k) =>
          api('content-types', k),
        ),
      }),
    ],
  ]
}

/** Every route with path parameters, for the router-level property. */
const PARAM_ROUTES: readonly (readonly [Method, string])[] = [
  ['GET', '/api/v1/tenants/:id'],
  ['PATCH', '/api/v1/tenants/:id'],
  ['GET', '/api/v1/users/:id'],
  ['PATCH', '/api/v1/users/:id'],
  ['DELETE', '/api/v1/users/:id'],
  ['DELETE', '/api/v1/tokens/:id'],
  ['GET', '/api/v1/content-types/:key'],
  ['PATCH', '/api/v1/content-types/:key'],
  ['DELETE', '/api/v1/content-types/:key'],
  ['GET', '/api/v1/entries/:type'],
  ['POST', '/api/v1/entries/:type'],
  ['GET', '/api/v1/entries/:type/:id'],
  ['PATCH', '/api/v1/entries/:type/:id'],
  ['DELETE', '/api/v1/entries/:type/:id'],
  ['POST', '/api/v1/entries/:type/:id/publish'],
  ['POST', '/api/v1/entries/:type/:id/unpublish'],
  ['GET', '/api/v1/webhooks/:id'],
  ['PATCH', '/api/v1/webhooks/:id'],
  ['DELETE', '/api/v1/webhooks/:id'],
  ['GET', '/api/v1/audit/events/:eventId'],
  ['GET', '/api/v1/audit/history/:table/:id'],
  ['GET', '/api/v1/audit/state/:table/:id'],
  ['POST', '/api/v1/audit/restore/:table/:id'],
]

/** A real value for a path parameter (the other parameters of the router-level property). */
function paramValue(K: Known, name: string): string {
  switch (name) {
    case 'key':
    case 'type':
      return 'article'
    case 'table':
      return 'entries'
    case 'eventId':
      return K.events[0]?.eventId ?? K.otherEventId
    default:
      return K.entryId
  }
}

// ---------------------------------------------------------------------------------- suite

const ARTICLE_FIELDS = [
  { name: 'title', type: 'string', required: true },
  { name: 'slug', type: 'string', unique: true },
  { name: 'body', type: 'text' },
  { name: 'count', type: 'integer' },
  { name: 'score', type: 'number' },
  { name: 'flag', type: 'boolean' },
  { name: 'when', type: 'datetime' },
  { name: 'meta', type: 'json' },
  { name: 'kind', type: 'enum', options: ['a', 'b', 'c'] },
  { name: 'ref', type: 'reference' },
]

forEachHttpDialect('http fuzz', (f) => {
  const K = {} as Known
  let started = 0

  before(async () => {
    started = Date.now()
    const ok = async (method: 'GET' | 'POST', url: string, body?: unknown, token = f.adminToken) => {
      const res = await f.call(method, url, { token, ...(body === undefined ? {} : { body }) })
      assert.ok(
        res.status === 200 || res.status === 201,
        `setup ${method} ${url}: ${JSON.stringify(res.body)}`,
      )
      return res.body
    }
    const apiToken = (role: Role) => sharedApiToken(f, f.tenantId, role)

    // Another tenant, with records whose ids this tenant must not reach.
    const other = await ok('POST', api('tenants'), { name: 'other tenant' })
    const ot: string = other.adminToken
    K.otherTenantId = other.tenant.id
    await ok('POST', api('content-types'), { key: 'other_type', name: 'Other', fields: [] }, ot)
    K.otherEntryId = (await ok('POST', api('entries', 'other_type'), { data: {} }, ot)).id
    K.otherWebhookId = (
      await ok('POST', api('webhooks'), { url: 'https://o.example/h', events: ['*'] }, ot)
    ).id
    K.otherUserId = (
      await ok(
        'POST',
        api('users'),
        { email: 'other@example.test', password: 'password-1', role: 'editor' },
        ot,
      )
    ).id
    K.otherTokenId = (await ok('POST', api('tokens'), { name: 'other', role: 'viewer' }, ot)).id
    K.otherEventId = (await ok('GET', `${api('audit', 'events')}?limit=1`, undefined, ot)).items[0].eventId

    K.tokens = {
      admin: f.adminToken,
      viewer: await apiToken('viewer'),
      editor: await apiToken('editor'),
      auditor: await apiToken('auditor'),
      other: ot,
    }
    K.tenantId = f.tenantId
    await ok('POST', api('content-types'), { key: 'article', name: 'Article', fields: ARTICLE_FIELDS })
    await ok('POST', api('content-types'), {
      key: 'scratch',
      name: 'Scratch',
      fields: [{ name: 'x', type: 'string' }],
    })
    await ok('POST', api('content-types'), { key: 'scratch_drop', name: 'Drop me', fields: [] })
    const entry = await ok('POST', api('entries', 'article'), {
      data: { title: 'Hello', slug: 'hello', count: 1, meta: { a: [1, 2] }, kind: 'a' },
    })
    K.entryId = entry.id
    K.spareEntryIds = []
    for (let i = 0; i < 3; i++) {
      const data = { title: `Spare ${i}`, slug: `spare-${i}`, ref: K.entryId }
      K.spareEntryIds.push((await ok('POST', api('entries', 'article'), { data, locale: 'fr' })).id)
    }
    K.localeId = (await ok('POST', api('locales'), { code: 'fr', name: 'French' })).id
    K.mediaId = (
      await ok('POST', api('media'), {
        filename: 'a.png',
        mime: 'image/png',
        size: 12,
        checksum: 'sha256:abcdefgh',
        url: 'https://cdn.example/a.png',
      })
    ).id
    K.webhookId = (await ok('POST', api('webhooks'), { url: 'https://h.example/1', events: ['entry.*'] })).id
    K.spareWebhookIds = []
    for (let i = 0; i < 2; i++) {
      K.spareWebhookIds.push(
        (await ok('POST', api('webhooks'), { url: `https://h.example/s${i}`, events: ['*'] })).id,
      )
    }
    K.userIds = []
    for (let i = 0; i < 3; i++) {
      const body = {
        email: `fuzz${i}@example.test`,
        password: 'password-123',
        role: i === 0 ? 'admin' : 'editor',
      }
      K.userIds.push((await ok('POST', api('users'), body)).id)
    }
    K.tokenIds = []
    for (let i = 0; i < 3; i++)
      K.tokenIds.push((await ok('POST', api('tokens'), { name: `t${i}`, role: 'viewer' })).id)
    const users = await ok('GET', `${api('users')}?limit=200`)
    K.adminUserId = users.items.find((u: { email: string }) => u.email === ADMIN.email).id
    const events = await ok('GET', `${api('audit', 'events')}?limit=200`)
    K.events = events.items.map((e: { eventId: string; table: string; recordId: string }) => ({
      eventId: e.eventId,
      table: e.table,
      recordId: e.recordId,
    }))
    K.cursor = (await ok('GET', `${api('audit', 'events')}?limit=1`)).nextCursor
    assert.ok(K.events.length > 10 && typeof K.cursor === 'string')
  })

  // The generators need the ids, so each test builds its own after `before` has run; the
  // titles are known up front (routes() only reads K inside the arbitraries it returns).
  const titles = routes(placeholder()).map(([title]) => title)
  titles.forEach((title, i) => {
    it(`fuzz ${title}`, async () => {
      const arb = routes(K).find(([t]) => t === title)![1]
      await fc.assert(
        fc.asyncProperty(arb, (req) => exercise(f, req)),
        { seed: SEED + i, numRuns: NUM_RUNS, includeErrorInReport: true },
      )
    })
  })

  it('reports the run time', () => {
    process.stderr.write(`http-fuzz [${f.name}]: ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
  })
})

/** Ids shaped like the real ones, only to list the route titles before setup runs. */
function placeholder(): Known {
  const id = '01HZZZZZZZZZZZZZZZZZZZZZZZ'
  return {
    tokens: { admin: 'x', viewer: 'x', editor: 'x', auditor: 'x', other: 'x' },
    tenantId: id,
    otherTenantId: id,
    adminUserId: id,
    userIds: [id],
    otherUserId: id,
    tokenIds: [id],
    otherTokenId: id,
    entryId: id,
    spareEntryIds: [id],
    otherEntryId: id,
    webhookId: id,
    spareWebhookIds: [id],
    otherWebhookId: id,
    mediaId: id,
    localeId: id,
    events: [{ eventId: id, table: 'entries', recordId: id }],
    otherEventId: id,
    cursor: id,
  }
}
