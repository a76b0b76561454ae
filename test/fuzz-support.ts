/** HTTP fuzzing: the request/response model, the reproduction settings and the three properties checked on every exchange. */
import assert from 'node:assert/strict'
import { sql } from 'kysely'
import { ERROR_CODES } from '../packages/audited/src/core/errors.js'
import type { HttpFixture } from './http-setup.js'

export const DEFAULT_SEED = 20_240_501
export const SEED = process.env.FUZZ_SEED === undefined ? DEFAULT_SEED : Number(process.env.FUZZ_SEED)
export const NUM_RUNS = process.env.FUZZ_RUNS === undefined ? 30 : Number(process.env.FUZZ_RUNS)
process.stderr.write(`http-fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${NUM_RUNS} (set both to reproduce a run)\n`)

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT' | 'HEAD' | 'OPTIONS'
export const METHODS: readonly Method[] = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS']

export interface Req {
  readonly method: Method
  readonly url: string
  readonly headers: Record<string, string>
  readonly payload: string | undefined
}

export interface Res {
  readonly status: number
  readonly body: string
  readonly headers: Record<string, unknown>
}

/** What the setup created: tokens, ids of this tenant and of another one, real events. */
export interface Known {
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

export const TABLES = [
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
export async function snapshot(f: HttpFixture): Promise<Record<string, string>> {
  const columns = [
    sql`(SELECT COUNT(*) FROM change_events) AS change_events`,
    sql`(SELECT MAX(event_id) FROM change_events) AS last_event`,
    ...TABLES.map((t) => sql`(SELECT COUNT(*) FROM ${sql.table(t)}) AS ${sql.ref(t)}`),
  ]
  const { rows } = await sql<Record<string, unknown>>`SELECT ${sql.join(columns)}`.execute(f.db.kysely)
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, String(v)]))
}

export const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s)

export function describeExchange(req: Req, res: Res): string {
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
export const LEAKS: readonly RegExp[] = [
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

export const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

export function strings(value: unknown, out: string[] = [], depth = 0): string[] {
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
export function requestText(req: Req): string {
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

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

export function checkErrorBody(req: Req, res: Res): void {
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
export async function exercise(f: HttpFixture, req: Req): Promise<void> {
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
