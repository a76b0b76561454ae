/** HTTP fuzzing: headers, tokens, path segments, query strings and whole requests built from a route shape. */
import fc from 'fast-check'
import { type Known, METHODS, type Method, type Req } from './fuzz-support.js'
import { anyJson, enc, headerSafe, payloadFrom, text, toPayload } from './fuzz-values.js'

export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
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

export const requestId: fc.Arbitrary<string | undefined> = fc.oneof(
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

export const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
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

export function authorization(K: Known): fc.Arbitrary<string | undefined> {
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

export const ULID_CHARS = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** Valid-looking ULIDs that name nothing. */
export const ulid: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...ULID_CHARS),
  minLength: 26,
  maxLength: 26,
})
export const nearUlid: fc.Arbitrary<string> = fc.oneof(
  ulid.map((u) => u.toLowerCase()),
  ulid.map((u) => `${u.slice(0, 25)}U`),
  ulid.map((u) => u.slice(1)),
  ulid.map((u) => `${u}0`),
)

/** Odd but well-formed segments (every percent escape decodes). */
export const RAW_SEGMENTS = [
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
export const ROUTER_BAD_SEGMENTS: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('%', '%zz', '%ff', '%c0%af', '%ED%A0%80', 'a%', '%%', '%e2%82'),
  fc.integer({ min: 101, max: 6000 }).map((n) => 'A'.repeat(n)),
  fc.integer({ min: 101, max: 400 }).map((n) => enc('ß'.repeat(n))),
)

/** Cuts an encoded segment to `max` characters without splitting a percent escape. */
export function fit(segment: string, max = 100): string {
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
export function seg(valid: readonly string[]): fc.Arbitrary<string> {
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

export const limit: fc.Arbitrary<string> = fc.oneof(
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

export const cursor = (K: Known): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constant(K.cursor),
    ulid,
    nearUlid,
    text,
    fc.constantFrom('eyJobGMiOiIxIn0', '0', '-1', 'null', '99999999999999999999:ZZZZ', ':', 'a'.repeat(300)),
  )

export const pointInTime: fc.Arbitrary<string> = fc.oneof(
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

export type Pair = readonly [string, fc.Arbitrary<string>]

/** A query string: known keys with good and bad values, random keys, raw junk. */
export function query(known: readonly Pair[]): fc.Arbitrary<string> {
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
export interface Valid {
  readonly path: string
  readonly query: string
  readonly body: unknown
}

export interface Shape {
  readonly method: Method
  readonly path: fc.Arbitrary<string>
  readonly query?: fc.Arbitrary<string>
  readonly body?: fc.Arbitrary<unknown>
  /** Well-formed requests, sent cleanly (right method, JSON, an admin or editor token) about
   * a third of the time, so that success paths and the checks behind the schema run too. */
  readonly valid?: fc.Arbitrary<Valid>
}

export const valid = (
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<unknown> = fc.constant(undefined),
  query: fc.Arbitrary<string> = fc.constant(''),
): fc.Arbitrary<Valid> => fc.record({ path, query, body })

export const junkQuery = query([])

/** A request of this shape, with random auth, request id, content type and extra headers;
 * now and then with another method. */
export function request(K: Known, shape: Shape): fc.Arbitrary<Req> {
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
