/**
 * The entry phase of `npm run bench:http`: BENCH_ENTRIES entries seeded into the bench
 * tenant, then `GET /api/v1/entries/article?limit=50` (keyset pages from cursors spread
 * over the whole list) with and without a `status` filter at 1 and 16 connections, and
 * audited creates while the tenant has an entry quota (`maxEntries`), so that the quota
 * check runs against a tenant holding that many entries.
 */
import type { DialectName } from '../packages/audited/src/index.js'
import { describe, fmt, load, type RunResult, roundRobin } from './http-load.js'
import { type EntrySeedResult, seedEntries } from './http-seed-entries.js'
import type { RawPool } from './raw-pools.js'

export const LIST_CONCURRENCIES = [1, 16] as const
export const QUOTA_CONCURRENCIES = [1, 16] as const
/** Far above what the bench creates: the check runs, it never refuses. */
const QUOTA = 100_000_000
/** The limiter caches a tenant's limits this long (src/cms/limits.ts). */
const LIMITS_CACHE_MS = 2000

export interface EntryPhase {
  readonly seed: EntrySeedResult
  readonly analyze: string
  readonly list: Map<number, RunResult>
  readonly listByStatus: Map<number, RunResult>
  readonly quotaCreates: Map<number, RunResult>
}

export interface EntryPhaseInput {
  readonly dialect: DialectName
  readonly raw: RawPool
  readonly url: string
  readonly token: string
  readonly tenantId: string
  readonly pid: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly entries: number
  readonly createBody: string
  readonly log: (line: string) => void
}

async function exec(raw: RawPool, name: string, text: string): Promise<void> {
  await raw.withConnection((conn) => conn.run({ name, sql: text }, []))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function benchEntries(input: EntryPhaseInput): Promise<EntryPhase> {
  const { raw, log, token, pid } = input
  log(`seeding ${input.entries.toLocaleString('en')} entries…`)
  const seed = await seedEntries(input.dialect, raw, input.tenantId, input.entries, log)
  log(`  ${seed.rows.toLocaleString('en')} entries in ${fmt(seed.elapsedMs / 1000, 1)} s`)
  const t = performance.now()
  let analyze: string
  if (input.dialect === 'postgres') {
    await exec(raw, 'analyze_entries', 'VACUUM ANALYZE entries')
    analyze = 'VACUUM ANALYZE entries'
  } else if (input.dialect === 'mysql') {
    await exec(raw, 'analyze_entries', 'ANALYZE TABLE entries')
    analyze = 'ANALYZE TABLE entries'
  } else analyze = 'none'
  if (analyze !== 'none') analyze += ` after seeding (${fmt((performance.now() - t) / 1000, 1)} s)`

  const paths = (query: string) =>
    ['', ...seed.cursors.map((c) => `&after=${c}`)].map(
      (after) => `/api/v1/entries/article?limit=50${query}${after}`,
    )
  const listLoad = (title: string, query: string, c: number, seconds: number) => {
    const all = paths(query)
    return load(
      {
        title,
        url: input.url + all[0],
        method: 'GET',
        connections: c,
        seconds,
        token,
        path: roundRobin(all),
      },
      pid,
    )
  }
  // A request the load generator gave up on keeps running on the server: one more request
  // answered means the queue ahead of it is drained before the next run starts.
  const drain = async (query: string) => {
    const res = await fetch(input.url + paths(query)[0], { headers: { authorization: `Bearer ${token}` } })
    await res.arrayBuffer()
  }
  const list = new Map<number, RunResult>()
  const listByStatus = new Map<number, RunResult>()
  for (const [title, query, into] of [
    ['GET entries/:type?limit=50', '', list],
    ['GET entries/:type?limit=50&status', '&status=published', listByStatus],
  ] as const) {
    await listLoad(title, query, 1, input.warmupSeconds)
    for (const c of LIST_CONCURRENCIES) {
      const r = await listLoad(title, query, c, input.seconds)
      log(describe(r))
      into.set(c, r)
      await drain(query)
    }
  }

  // Creates with a quota set: the limiter checks it on every entry create.
  await exec(
    raw,
    'set_quota',
    `UPDATE tenants SET limits = '{"maxEntries":${QUOTA}}' WHERE id = '${input.tenantId}'`,
  )
  await sleep(LIMITS_CACHE_MS + 200)
  const create = (c: number, seconds: number) =>
    load(
      {
        title: 'create, audited, quota set',
        url: `${input.url}/api/v1/entries/article`,
        method: 'POST',
        connections: c,
        seconds,
        token,
        body: input.createBody,
      },
      pid,
    )
  await create(4, input.warmupSeconds)
  const quotaCreates = new Map<number, RunResult>()
  for (const c of QUOTA_CONCURRENCIES) {
    const r = await create(c, input.seconds)
    log(describe(r))
    quotaCreates.set(c, r)
  }
  return { seed, analyze, list, listByStatus, quotaCreates }
}
