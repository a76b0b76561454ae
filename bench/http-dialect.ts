/** bench:http: one dialect in a fresh database — creates, updates, reads, entry lists, traces. */
import type { DialectName } from '../packages/audited/src/index.js'
import { type CreateTrace, traceCreates } from './create-trace.js'
import { type DialectTarget, PendingDrops } from './databases.js'
import { ENTRY_BODY, prepareApi } from './http-api.js'
import { benchEntries, type EntryPhase } from './http-entry-list.js'
import { children, launch, type RunningServer } from './http-launch.js'
import { describe, fmt, load, type RunResult, roundRobin } from './http-load.js'
import { errorMessage, log } from './http-log.js'
import { type SeedResult, seedEvents } from './http-seed.js'
import {
  CONCURRENCIES,
  HISTORY_RECORDS,
  READ_CONCURRENCIES,
  type Settings,
  UPDATE_ENTRIES,
  WARMUP_SECONDS,
} from './http-settings.js'
import type { RawPool } from './raw-pools.js'

export interface WriteCase {
  readonly audited: RunResult
  readonly bare: RunResult
}

export interface DialectRun {
  readonly name: DialectName
  readonly status: 'ran' | 'skipped' | 'failed'
  readonly reason?: string
  readonly settings: [string, string][]
  readonly creates: Map<number, WriteCase>
  readonly updates: Map<number, RunResult>
  readonly eventList: Map<number, RunResult>
  readonly history: Map<number, RunResult>
  seed?: SeedResult
  analyze?: string
  entries?: EntryPhase
  traces?: CreateTrace[]
  elapsedMs: number
}

export const drops = new PendingDrops((m) => log(`!! ${m}`))

process.once('SIGINT', () => {
  log('\ninterrupted: stopping the server, dropping bench databases')
  for (const child of children) child.kill('SIGKILL')
  void drops.dropAll().finally(() => process.exit(130))
})

export async function rawRows(raw: RawPool, name: string, text: string): Promise<Record<string, unknown>[]> {
  return raw.withConnection(async (conn) => [...(await conn.run({ name, sql: text }, [])).rows])
}

export function settingPairs(rows: readonly Record<string, unknown>[]): [string, string][] {
  return rows.map((row) => [String(row.name ?? row.Variable_name), String(row.value ?? row.Value)])
}

export async function benchDialect(target: DialectTarget, settings: Settings): Promise<DialectRun> {
  const started = performance.now()
  const run: DialectRun = {
    name: target.name,
    status: 'ran',
    settings: [],
    creates: new Map(),
    updates: new Map(),
    eventList: new Map(),
    history: new Map(),
    elapsedMs: 0,
  }
  const unreachable = await target.unreachable()
  if (unreachable !== undefined) {
    log(`!! ${target.name} is not reachable (${unreachable}): SKIPPED`)
    return { ...run, status: 'skipped', reason: `not reachable: ${unreachable}` }
  }
  log(`\n== ${target.name}`)
  const created = await target.create()
  drops.track(created)
  let server: RunningServer | undefined
  let raw: RawPool | undefined
  try {
    server = await launch(settings.mode, created.url)
    raw = target.openRaw(created, 2)
    run.settings.push(...settingPairs(await rawRows(raw, 'settings', target.settingsSql)))
    const token = await prepareApi(server.url)
    const pid = server.pid
    const s = settings.seconds
    const createUrl = `${server.url}/api/v1/entries/article`
    const bareUrl = `${server.bareUrl}/bare/entries/article`
    const audited = (c: number, seconds = s) =>
      load(
        {
          title: 'create, audited',
          url: createUrl,
          method: 'POST',
          connections: c,
          seconds,
          token,
          body: ENTRY_BODY,
        },
        pid,
      )
    const bare = (c: number, seconds = s) =>
      load(
        {
          title: 'create, bare (no audit)',
          url: bareUrl,
          method: 'POST',
          connections: c,
          seconds,
          body: ENTRY_BODY,
        },
        pid,
      )

    // 1. creates: warm both paths up, then per concurrency both modes, alternating which runs first.
    await audited(16, WARMUP_SECONDS)
    await bare(16, WARMUP_SECONDS)
    for (const [i, c] of CONCURRENCIES.entries()) {
      let a: RunResult
      let b: RunResult
      if (i % 2 === 0) {
        a = await audited(c)
        b = await bare(c)
      } else {
        b = await bare(c)
        a = await audited(c)
      }
      log(describe(a))
      log(describe(b))
      run.creates.set(c, { audited: a, bare: b })
    }

    // 2. updates, round-robin over entries created through the API above.
    const ids = (
      await rawRows(
        raw,
        'update_ids',
        `SELECT record_id FROM change_events WHERE table_name = 'entries' AND action = 'create' ORDER BY hlc LIMIT ${UPDATE_ENTRIES}`,
      )
    ).map((r) => String(r.record_id))
    if (ids.length < 256) throw new Error(`only ${ids.length} entries to update`)
    const patchBody = JSON.stringify({
      data: { views: 43, title: 'Benchmarking an audited headless CMS, revised' },
    })
    const update = (c: number, seconds = s) =>
      load(
        {
          title: 'update, audited',
          url: createUrl,
          method: 'PATCH',
          connections: c,
          seconds,
          token,
          body: patchBody,
          path: roundRobin(ids.map((id) => `/api/v1/entries/article/${id}`)),
        },
        pid,
      )
    await update(16, WARMUP_SECONDS)
    for (const c of CONCURRENCIES) {
      const r = await update(c)
      log(describe(r))
      run.updates.set(c, r)
    }

    // 3. reads over a large event table.
    const tenantRows = await rawRows(raw, 'tenant', 'SELECT id FROM tenants')
    const tenantId = String(tenantRows[0]?.id)
    log(`seeding ${settings.events.toLocaleString('en')} events…`)
    run.seed = await seedEvents(target.name, raw, tenantId, settings.events, log)
    log(
      `  ${run.seed.rows.toLocaleString('en')} events over ${run.seed.records.toLocaleString('en')} records in ${fmt(run.seed.elapsedMs / 1000, 1)} s`,
    )
    if (target.name === 'postgres') {
      // What autovacuum does on its own shortly after a bulk load: planner statistics.
      const t = performance.now()
      await rawRows(raw, 'analyze', 'VACUUM ANALYZE change_events')
      run.analyze = `VACUUM ANALYZE change_events after seeding (${fmt((performance.now() - t) / 1000, 1)} s), as autovacuum would soon do`
    } else {
      run.analyze = 'none (no ANALYZE: SQLite gathers no statistics on its own)'
    }
    const historyIds = shuffle(run.seed.benchEntryIds).slice(0, HISTORY_RECORDS)
    const listLoad = (c: number, seconds = s) =>
      load(
        {
          title: 'GET audit/events?limit=50',
          url: `${server!.url}/api/v1/audit/events?limit=50`,
          method: 'GET',
          connections: c,
          seconds,
          token,
        },
        pid,
      )
    const historyLoad = (c: number, seconds = s) =>
      load(
        {
          title: 'GET audit/history/entries/:id',
          url: `${server!.url}/api/v1/audit/history/entries/${historyIds[0]}`,
          method: 'GET',
          connections: c,
          seconds,
          token,
          path: roundRobin(historyIds.map((id) => `/api/v1/audit/history/entries/${id}`)),
        },
        pid,
      )
    // History first: an events-list request the load generator gives up on keeps running
    // on the server (see the results), and must not weigh on the history figures.
    await historyLoad(4, WARMUP_SECONDS)
    for (const c of READ_CONCURRENCIES) {
      const h = await historyLoad(c)
      log(describe(h))
      run.history.set(c, h)
    }
    await listLoad(1, WARMUP_SECONDS)
    for (const c of READ_CONCURRENCIES) {
      const l = await listLoad(c)
      log(describe(l))
      run.eventList.set(c, l)
    }
    const counted = await rawRows(raw, 'count', 'SELECT COUNT(*) AS n FROM change_events')
    run.settings.push(['change_events rows at the reads', Number(counted[0]?.n).toLocaleString('en')])

    // 4. entry lists and creates under a quota, over a large entry table.
    run.entries = await benchEntries({
      dialect: target.name,
      raw,
      url: server.url,
      token,
      tenantId,
      pid,
      seconds: s,
      warmupSeconds: WARMUP_SECONDS,
      entries: settings.entries,
      createBody: ENTRY_BODY,
      log,
    })

    // 5. what one create sends to PostgreSQL.
    if (target.name === 'postgres') {
      const limits = (value: string) =>
        rawRows(raw!, 'limits', `UPDATE tenants SET limits = ${value} WHERE id = '${tenantId}'`)
      await limits('NULL')
      run.traces = await traceCreates(created.url, token, ENTRY_BODY, async () => {
        await limits(`'{"maxEntries":100000000}'`)
      })
      for (const t of run.traces)
        log(`trace ${t.label}: ${t.statements.length} statements, ${t.trips} round trips`)
    }
    return run
  } catch (e) {
    log(`!! ${target.name} FAILED: ${errorMessage(e)}`)
    return { ...run, status: 'failed', reason: errorMessage(e).split('\n')[0] ?? 'failed' }
  } finally {
    await server?.close()
    await raw?.close()
    await drops.drop(created)
    run.elapsedMs = performance.now() - started
  }
}

export function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
