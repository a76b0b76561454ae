/**
 * The statements and round trips of one audited entry create on PostgreSQL, end to end
 * (`POST /api/v1/entries/article` with an API token), as `npm run bench:http` reports them.
 *
 * A CMS server runs in this process over the bench database and every `pg` query it sends
 * is logged (`pg.Client.prototype.query`, the one entry point of both the engine's pipelined
 * sessions and Kysely's reads). Queries written in the same tick leave in one socket write
 * and come back together: one round trip. Traced after warm-up (prepared statements,
 * cached limits and column lists), once without a quota and once with `maxEntries` set.
 */
import pg from 'pg'
import { serve } from '../packages/cms/src/server/serve.js'
import { BENCH_ADMIN, SERVER_SETTINGS } from './http-server.js'

export interface TracedStatement {
  /** 1-based round trip of the request. */
  readonly trip: number
  readonly sql: string
}

export interface CreateTrace {
  readonly label: string
  readonly statements: readonly TracedStatement[]
  readonly trips: number
}

type Query = typeof pg.Client.prototype.query

let recording: TracedStatement[] | undefined
let trip = 0
let tripOpen = false

function textOf(args: unknown[]): string {
  const first = args[0]
  const text = typeof first === 'string' ? first : String((first as { text?: unknown } | null)?.text ?? '')
  return text.replace(/\s+/g, ' ').trim()
}

function install(): () => void {
  const original: Query = pg.Client.prototype.query
  const traced = function (this: pg.Client, ...args: unknown[]) {
    if (recording !== undefined) {
      if (!tripOpen) {
        trip += 1
        tripOpen = true
        queueMicrotask(() => {
          tripOpen = false
        })
      }
      recording.push({ trip, sql: textOf(args) })
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  }
  pg.Client.prototype.query = traced as unknown as Query
  return () => {
    pg.Client.prototype.query = original
  }
}

async function post(url: string, token: string, body: string): Promise<void> {
  const res = await fetch(`${url}/api/v1/entries/article`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  })
  const text = await res.text()
  if (res.status !== 201) throw new Error(`trace create answered ${res.status}: ${text}`)
}

async function traceOne(label: string, url: string, token: string, body: string): Promise<CreateTrace> {
  for (let i = 0; i < 20; i++) await post(url, token, body)
  recording = []
  trip = 0
  try {
    await post(url, token, body)
    return { label, statements: recording, trips: trip }
  } finally {
    recording = undefined
  }
}

/** Traces one create without and one with a quota; `setQuota` runs outside the trace. */
export async function traceCreates(
  databaseUrl: string,
  token: string,
  body: string,
  setQuota: () => Promise<void>,
): Promise<CreateTrace[]> {
  const uninstall = install()
  const server = await serve({
    host: '127.0.0.1',
    port: 0,
    databaseUrl,
    nodeId: `bench-trace-${process.pid}`,
    logLevel: SERVER_SETTINGS.logLevel,
    trustProxy: false,
    poolMax: SERVER_SETTINGS.poolMax,
    acquireTimeoutMs: SERVER_SETTINGS.acquireTimeoutMs,
    redisUrl: undefined,
    adminEmail: BENCH_ADMIN.email,
    adminPassword: BENCH_ADMIN.password,
  })
  try {
    const plain = await traceOne('no quota', server.url, token, body)
    await setQuota()
    await new Promise((resolve) => setTimeout(resolve, 2200)) // the limiter's limits cache
    const quota = await traceOne('maxEntries set', server.url, token, body)
    return [plain, quota]
  } finally {
    await server.close()
    uninstall()
  }
}

/** Markdown: per trace, every statement with its round trip. */
export function renderTraces(traces: readonly CreateTrace[]): string {
  const out: string[] = []
  for (const t of traces) {
    out.push(
      `**${t.label}**: ${t.statements.length} statements in ${t.trips} round trips.`,
      '',
      '| round trip | statement |',
      '| --- | --- |',
    )
    for (const s of t.statements) {
      const text = s.sql.length > 140 ? `${s.sql.slice(0, 137)}…` : s.sql
      out.push(`| ${s.trip} | \`${text.replaceAll('|', '\\|')}\` |`)
    }
    out.push('')
  }
  return out.join('\n')
}
