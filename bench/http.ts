/**
 * `npm run bench:http`: the CMS HTTP API under load (autocannon) against a real listening
 * server, per dialect in a fresh database (dropped after):
 *
 * 1. entry create, audited (`POST /api/v1/entries/:type`, admin API token), and the bare
 *    baseline (`POST /bare/entries/:type`: same body parsing, one plain INSERT, no audit,
 *    no auth) at 1, 16 and 64 connections;
 * 2. entry update (`PATCH /api/v1/entries/:type/:id`) round-robin over pre-created entries;
 * 3. reads — `GET /api/v1/audit/events?limit=50` and `GET /api/v1/audit/history/entries/:id`
 *    — after `change_events` was filled with BENCH_EVENTS synthetic events;
 * 4. entry lists (`GET /api/v1/entries/:type?limit=50`, with and without `status`) and
 *    audited creates with an entry quota set, after `entries` was filled with BENCH_ENTRIES
 *    rows (bench/http-entry-list.ts);
 * 5. on PostgreSQL, the statements and round trips of one audited create (bench/create-trace.ts).
 *
 * Writes results to bench/http-results.md and prints a summary.
 *
 * BENCH_DIALECTS  comma list of sqlite, postgres, mysql (default: sqlite,postgres)
 * BENCH_SECONDS   seconds per measured run (default 5)
 * BENCH_EVENTS    change_events rows seeded before the reads (default 1,000,000)
 * BENCH_ENTRIES   entries seeded before the entry lists (default 1,000,000)
 * BENCH_SERVER    child (default: the server in its own process) or inprocess
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, type as osType, platform, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { DialectName } from '../packages/audited/src/index.js'
import { type CreateTrace, renderTraces, traceCreates } from './create-trace.js'
import { type DialectTarget, PendingDrops, TARGETS } from './databases.js'
import { ENTRY_BODY, prepareApi } from './http-api.js'
import { benchEntries, type EntryPhase } from './http-entry-list.js'
import { describe, fmt, load, type RunResult, roundRobin } from './http-load.js'
import { type SeedResult, seedEvents } from './http-seed.js'
import { type BenchServer, SERVER_SETTINGS, type ServerMessage, startBenchServer } from './http-server.js'
import type { RawPool } from './raw-pools.js'

const log = (line: string) => process.stderr.write(`${line}\n`)
const errorMessage = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e))

// ------------------------------------------------------------------------------ settings

type ServerMode = 'child' | 'inprocess'

interface Settings {
  readonly dialects: readonly DialectName[]
  readonly seconds: number
  readonly events: number
  readonly entries: number
  readonly mode: ServerMode
}

const CONCURRENCIES = [1, 16, 64] as const
const READ_CONCURRENCIES = [1, 16] as const
const WARMUP_SECONDS = 1
/** Entries the updates rotate over: far more than connections, so no two in-flight
 * PATCHes touch the same row (each would otherwise be a version conflict, 409). */
const UPDATE_ENTRIES = 4096
const HISTORY_RECORDS = 2000
const FULL_SCALE_EVENTS = 1_000_000
const TARGET_RATIO = 0.7
const TARGET_READ_P99_MS = 20
/** Quoted from the issue, not measured here: Directus 11 creating items at concurrency 16. */
const DIRECTUS_QUOTED: Partial<Record<DialectName, number>> = { sqlite: 80, postgres: 110 }

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw.replaceAll('_', ''))
  if (!(Number.isFinite(n) && n > 0)) throw new Error(`${name} must be a number > 0, got "${raw}"`)
  return n
}

function readSettings(env: NodeJS.ProcessEnv): Settings {
  const all: readonly DialectName[] = ['sqlite', 'postgres', 'mysql']
  const raw = env.BENCH_DIALECTS?.trim() || 'sqlite,postgres'
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  const unknown = names.filter((n) => !(all as readonly string[]).includes(n))
  if (unknown.length > 0) throw new Error(`BENCH_DIALECTS: unknown ${unknown.join(', ')}`)
  const mode = env.BENCH_SERVER?.trim() || 'child'
  if (mode !== 'child' && mode !== 'inprocess') throw new Error('BENCH_SERVER must be child or inprocess')
  return {
    dialects: all.filter((d) => names.includes(d)),
    seconds: positiveNumber(env, 'BENCH_SECONDS', 5),
    events: Math.round(positiveNumber(env, 'BENCH_EVENTS', FULL_SCALE_EVENTS)),
    entries: Math.round(positiveNumber(env, 'BENCH_ENTRIES', FULL_SCALE_EVENTS)),
    mode,
  }
}

// -------------------------------------------------------------------------------- server

interface RunningServer extends BenchServer {
  /** The process serving requests (this one when in-process). */
  readonly pid: number
}

const SERVER_ENTRY = fileURLToPath(new URL('./http-server.ts', import.meta.url))
const children = new Set<ChildProcess>()

async function launchChild(databaseUrl: string): Promise<RunningServer> {
  const child = fork(SERVER_ENTRY, [], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    execArgv: ['--conditions=audited-dev', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = await new Promise<ServerMessage>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ServerMessage))
    child.once('exit', (code) => reject(new Error(`the bench server exited (code ${code}) before listening`)))
  })
  const pid = child.pid
  if (pid === undefined) throw new Error('the bench server has no pid')
  return {
    ...ready,
    pid,
    close: async () => {
      if (child.exitCode === null) child.send('stop')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      children.delete(child)
    },
  }
}

async function launch(mode: ServerMode, databaseUrl: string): Promise<RunningServer> {
  if (mode === 'child') return launchChild(databaseUrl)
  const server = await startBenchServer(databaseUrl)
  return { url: server.url, bareUrl: server.bareUrl, close: () => server.close(), pid: process.pid }
}

// ---------------------------------------------------------------------------- per dialect

interface WriteCase {
  readonly audited: RunResult
  readonly bare: RunResult
}

interface DialectRun {
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

const drops = new PendingDrops((m) => log(`!! ${m}`))

process.once('SIGINT', () => {
  log('\ninterrupted: stopping the server, dropping bench databases')
  for (const child of children) child.kill('SIGKILL')
  void drops.dropAll().finally(() => process.exit(130))
})

async function rawRows(raw: RawPool, name: string, text: string): Promise<Record<string, unknown>[]> {
  return raw.withConnection(async (conn) => [...(await conn.run({ name, sql: text }, [])).rows])
}

function settingPairs(rows: readonly Record<string, unknown>[]): [string, string][] {
  return rows.map((row) => [String(row.name ?? row.Variable_name), String(row.value ?? row.Value)])
}

async function benchDialect(target: DialectTarget, settings: Settings): Promise<DialectRun> {
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

function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

// ------------------------------------------------------------------------------- report

const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS')

function problems(r: RunResult): string {
  const bad = r.non2xx + r.errors + r.timeouts
  if (bad === 0) return '0'
  const codes = Object.entries(r.statuses)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${n}× ${code}${r.samples[code] === undefined ? '' : ` (${r.samples[code]})`}`)
  return [...codes, r.errors > 0 ? `${r.errors} errors` : '', r.timeouts > 0 ? `${r.timeouts} timeouts` : '']
    .filter((x) => x !== '')
    .join(', ')
}

function sourceState(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: 'pipe' }).trim()
    const dirty = git('status', '--porcelain', '--', 'packages')
    return `git ${git('rev-parse', '--short', 'HEAD')}, packages/ ${dirty === '' ? 'clean' : 'with uncommitted changes'}`
  } catch {
    return 'unknown'
  }
}

interface RunFacts {
  readonly startedAt: Date
  readonly elapsedMs: number
  readonly settings: Settings
  readonly load: { start: number; end: number }
}

function machineRows(facts: RunFacts): [string, string][] {
  const cpu = cpus()
  return [
    ['date', facts.startedAt.toISOString()],
    ['source', sourceState()],
    ['node', process.version],
    ['cpus', `${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`],
    ['os', `${osType()} ${release()} (${platform()} ${process.arch})`],
    [
      'memory',
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free at end`,
    ],
    ['load average (1 min) start → end', `${fmt(facts.load.start, 2)} → ${fmt(facts.load.end, 2)}`],
    [
      'database servers',
      'PostgreSQL / MariaDB on the same machine; SQLite: a temp file (WAL, synchronous=NORMAL)',
    ],
  ]
}

function settingRows(facts: RunFacts): [string, string][] {
  const s = facts.settings
  return [
    [
      'server',
      s.mode === 'child'
        ? 'a child process (`serve()`, as `npm start`), autocannon in the parent: each gets its own core'
        : 'in the bench process (`serve()` + autocannon sharing one event loop)',
    ],
    ['seconds per run', `${fmt(s.seconds, 0)} (plus ${WARMUP_SECONDS} s warm-up per route, not counted)`],
    ['connections', `writes ${CONCURRENCIES.join(', ')}; reads ${READ_CONCURRENCIES.join(', ')}`],
    [
      'server config',
      `pool ${SERVER_SETTINGS.poolMax}, acquire timeout ${SERVER_SETTINGS.acquireTimeoutMs} ms, LOG_LEVEL=${SERVER_SETTINGS.logLevel} (default info would log every request), no Redis, limiter hook on (no limits set)`,
    ],
    ['BENCH_EVENTS', s.events.toLocaleString('en')],
    ['BENCH_ENTRIES', s.entries.toLocaleString('en')],
    ['entry body', `${Buffer.byteLength(ENTRY_BODY)} bytes JSON, type with 5 fields (no unique field)`],
    [
      'updates',
      `PATCH {data: 2 fields} round-robin over ${UPDATE_ENTRIES} entries created by the create runs`,
    ],
    ['history targets', `${HISTORY_RECORDS} seeded entry records of the bench tenant, round-robin`],
    [
      'latency',
      "per 2xx response, from autocannon's own timings (closed loop: each connection waits for its answer)",
    ],
  ]
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

function renderMarkdown(runs: readonly DialectRun[], facts: RunFacts): string {
  const ran = runs.filter((r) => r.status === 'ran')
  const fullScale = facts.settings.events >= FULL_SCALE_EVENTS
  const out: string[] = []
  out.push('# HTTP benchmark (`npm run bench:http`)', '')
  out.push(
    'The CMS API as `npm start` serves it, under autocannon, on a fresh database per dialect ' +
      '(dropped after). Generated by bench/http.ts; figures move by ±10–20 % between runs on this machine.',
    '',
  )
  for (const r of runs.filter((x) => x.status !== 'ran'))
    out.push(`**${r.name}: ${r.status}** — ${r.reason}`, '')
  out.push('## Machine and settings', '')
  out.push(table(['', ''], [...machineRows(facts), ...settingRows(facts)]), '')
  for (const r of ran) {
    out.push(`### ${r.name} server`, '')
    out.push(table(['setting', 'value'], r.settings), '')
    if (r.seed !== undefined) {
      out.push(
        `Seeded ${r.seed.rows.toLocaleString('en')} events over ${r.seed.records.toLocaleString('en')} records ` +
          `(4 tenants, bench tenant 40 %) with ${1000}-row INSERTs in ${fmt(r.seed.elapsedMs / 1000, 1)} s; ` +
          `statistics: ${r.analyze ?? 'n/a'}.`,
        '',
      )
    }
  }

  out.push('## Targets', '')
  const targetRows: string[][] = []
  for (const r of ran) {
    for (const [c, w] of r.creates) {
      const ratio = w.audited.rps / w.bare.rps
      targetRows.push([
        r.name,
        `audited create ÷ bare create, c=${c}`,
        `≥ ${TARGET_RATIO}`,
        fmt(ratio, 2),
        verdict(ratio >= TARGET_RATIO),
      ])
    }
    for (const [label, m] of [
      ['event list p99', r.eventList],
      ['history p99', r.history],
    ] as const) {
      for (const [c, x] of m) {
        targetRows.push([
          r.name,
          `${label}, c=${c}, ${(r.seed?.rows ?? 0).toLocaleString('en')} seeded events`,
          `< ${TARGET_READ_P99_MS} ms at 1M events`,
          `${fmt(x.p99, 2)} ms`,
          fullScale ? verdict(x.p99 < TARGET_READ_P99_MS) : 'not judged (BENCH_EVENTS < 1M)',
        ])
      }
    }
  }
  out.push(table(['dialect', 'measure', 'target', 'measured', 'verdict'], targetRows), '')

  out.push('## Entry create: audited vs bare', '')
  out.push(
    'Audited: `POST /api/v1/entries/article` with an admin API token (token look-up, content-type look-up, ' +
      'data validation, one transaction with the entry and its change event, the row read back). Bare: a ' +
      'separate Fastify instance in the same server process, same body schema, one plain `INSERT` into ' +
      '`entries` through `db.kysely`, no auth, no audit.',
    '',
  )
  const createRows: string[][] = []
  for (const r of ran) {
    for (const [c, w] of r.creates) {
      createRows.push([
        r.name,
        String(c),
        fmt(w.audited.rps, 0),
        fmt(w.audited.p50, 2),
        fmt(w.audited.p99, 2),
        fmt(w.audited.max, 0),
        fmt(w.bare.rps, 0),
        fmt(w.bare.p50, 2),
        fmt(w.bare.p99, 2),
        fmt(w.audited.rps / w.bare.rps, 2),
        `${problems(w.audited)} / ${problems(w.bare)}`,
      ])
    }
  }
  out.push(
    table(
      [
        'dialect',
        'conn.',
        'audited req/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'bare req/s',
        'p50 ms',
        'p99 ms',
        'audited ÷ bare',
        'errors/non-2xx (audited / bare)',
      ],
      createRows,
    ),
    '',
  )

  out.push('## Entry update (audited)', '')
  const updateRows: string[][] = []
  for (const r of ran) {
    for (const [c, x] of r.updates) {
      updateRows.push([
        r.name,
        String(c),
        fmt(x.rps, 0),
        fmt(x.p50, 2),
        fmt(x.p99, 2),
        fmt(x.max, 0),
        problems(x),
      ])
    }
  }
  out.push(
    table(['dialect', 'conn.', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors/non-2xx'], updateRows),
    '',
  )

  out.push('## Reads over the seeded event table', '')
  const readRows: string[][] = []
  for (const r of ran) {
    for (const [label, m] of [
      ['`GET /api/v1/audit/events?limit=50`', r.eventList],
      ['`GET /api/v1/audit/history/entries/:id`', r.history],
    ] as const) {
      for (const [c, x] of m) {
        readRows.push([
          r.name,
          label,
          String(c),
          fmt(x.rps, 0),
          fmt(x.p50, 2),
          fmt(x.p99, 2),
          fmt(x.max, 0),
          problems(x),
        ])
      }
    }
  }
  out.push(
    table(['dialect', 'route', 'conn.', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors/non-2xx'], readRows),
    '',
  )

  out.push(renderEntries(ran))
  out.push('## Directus 11 (quoted, not measured here)', '')
  out.push(
    'The issue quotes Directus 11 at about 80 req/s on SQLite and 110 req/s on PostgreSQL creating items at ' +
      'concurrency 16. Those figures are **quoted, not measured here** (other hardware, other payloads, ' +
      'unknown settings); the ratio only places the order of magnitude.',
    '',
  )
  const directusRows: string[][] = []
  for (const r of ran) {
    const quoted = DIRECTUS_QUOTED[r.name]
    const ours = r.creates.get(16)?.audited.rps
    if (quoted === undefined || ours === undefined) continue
    directusRows.push([r.name, `${quoted} (quoted)`, fmt(ours, 0), `${fmt(ours / quoted, 1)}×`])
  }
  out.push(
    table(['dialect', 'Directus 11 req/s, c=16', 'audited create req/s, c=16 (here)', 'ratio'], directusRows),
    '',
  )

  out.push('## CPU during each run', '')
  out.push(
    'Server and client in % of one core (the server process; autocannon in the bench process), machine in % of ' +
      `all ${cpus().length} cores (the rest of the machine's busy time is the database server and any other process on the machine: a load average above the core count at start means other work was running).`,
    '',
  )
  const cpuRows: string[][] = []
  for (const r of ran) {
    const all: RunResult[] = [
      ...[...r.creates.values()].flatMap((w) => [w.audited, w.bare]),
      ...r.updates.values(),
      ...r.eventList.values(),
      ...r.history.values(),
      ...(r.entries === undefined
        ? []
        : [
            ...r.entries.list.values(),
            ...r.entries.listByStatus.values(),
            ...r.entries.quotaCreates.values(),
          ]),
    ]
    for (const x of all) {
      cpuRows.push([
        r.name,
        x.title,
        String(x.connections),
        fmt(x.cpu.server, 0),
        fmt(x.cpu.client, 0),
        fmt(x.cpu.machine, 0),
      ])
    }
  }
  out.push(table(['dialect', 'run', 'conn.', 'server %', 'client %', 'machine %'], cpuRows), '')
  out.push(`Whole run: ${fmt(facts.elapsedMs / 1000, 0)} s.`, '')
  return `${out.join('\n')}\n`
}

/** The entry phase's sections: lists, creates under a quota, the statement trace. */
function renderEntries(ran: readonly DialectRun[]): string {
  const out: string[] = []
  out.push('## Entry lists over the seeded entry table', '')
  out.push(
    '`GET /api/v1/entries/article?limit=50` round-robin over the first page and 200 keyset cursors spread ' +
      'over the whole list, without and with `status=published` (about half the entries).',
    '',
  )
  const rows: string[][] = []
  for (const r of ran) {
    const e = r.entries
    if (e === undefined) continue
    for (const [label, m] of [
      ['no status filter', e.list],
      ['`status=published`', e.listByStatus],
    ] as const) {
      for (const [c, x] of m) {
        rows.push([
          r.name,
          e.seed.rows.toLocaleString('en'),
          label,
          String(c),
          fmt(x.rps, 0),
          fmt(x.p50, 2),
          fmt(x.p99, 2),
          fmt(x.max, 0),
          problems(x),
        ])
      }
    }
  }
  out.push(
    table(
      ['dialect', 'entries', 'filter', 'conn.', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors/non-2xx'],
      rows,
    ),
    '',
  )
  for (const r of ran) {
    const e = r.entries
    if (e !== undefined)
      out.push(
        `${r.name}: seeded ${e.seed.rows.toLocaleString('en')} entries with 1000-row INSERTs in ${fmt(e.seed.elapsedMs / 1000, 1)} s; statistics: ${e.analyze}.`,
        '',
      )
  }
  out.push('## Entry create with an entry quota set', '')
  out.push(
    'The same audited create as above, after `maxEntries` was set on the bench tenant (far above what the ' +
      'bench creates), so the limiter checks the quota on every create while the tenant holds the seeded entries.',
    '',
  )
  const quotaRows: string[][] = []
  for (const r of ran) {
    for (const [c, x] of r.entries?.quotaCreates ?? []) {
      const plain = r.creates.get(c)?.audited
      quotaRows.push([
        r.name,
        String(c),
        fmt(x.rps, 0),
        fmt(x.p50, 2),
        fmt(x.p99, 2),
        plain === undefined ? '–' : fmt(plain.rps, 0),
        problems(x),
      ])
    }
  }
  out.push(
    table(
      [
        'dialect',
        'conn.',
        'req/s (quota set)',
        'p50 ms',
        'p99 ms',
        'req/s without quota (above)',
        'errors/non-2xx',
      ],
      quotaRows,
    ),
    '',
  )
  for (const r of ran) {
    if (r.traces === undefined) continue
    out.push(`## Statements of one audited create (${r.name})`, '')
    out.push(
      'Every query the server sent for one `POST /api/v1/entries/article` after warm-up, logged at the ' +
        'driver (bench/create-trace.ts); statements written in the same tick share a round trip.',
      '',
    )
    out.push(renderTraces(r.traces))
  }
  return out.join('\n')
}

function renderConsole(runs: readonly DialectRun[], facts: RunFacts): string {
  const lines: string[] = ['', `bench:http — ${facts.settings.mode} server, ${facts.settings.seconds} s runs`]
  for (const r of runs) {
    if (r.status !== 'ran') {
      lines.push(`${r.name}: ${r.status} (${r.reason})`)
      continue
    }
    lines.push(`\n${r.name}`)
    for (const [c, w] of r.creates) {
      const ratio = w.audited.rps / w.bare.rps
      lines.push(
        `  create c=${String(c).padStart(2)}: audited ${fmt(w.audited.rps, 0)} req/s (p99 ${fmt(w.audited.p99, 1)} ms), ` +
          `bare ${fmt(w.bare.rps, 0)} req/s, ratio ${fmt(ratio, 2)} ${verdict(ratio >= TARGET_RATIO)}`,
      )
    }
    for (const [c, x] of r.updates)
      lines.push(`  update c=${String(c).padStart(2)}: ${fmt(x.rps, 0)} req/s (p99 ${fmt(x.p99, 1)} ms)`)
    for (const [label, m] of [
      ['events?limit=50', r.eventList],
      ['history', r.history],
    ] as const) {
      for (const [c, x] of m) {
        lines.push(
          `  ${label} c=${String(c).padStart(2)}: ${fmt(x.rps, 0)} req/s, p50 ${fmt(x.p50, 2)} ms, p99 ${fmt(x.p99, 2)} ms` +
            (facts.settings.events >= FULL_SCALE_EVENTS ? ` ${verdict(x.p99 < TARGET_READ_P99_MS)}` : ''),
        )
      }
    }
    const quoted = DIRECTUS_QUOTED[r.name]
    const ours = r.creates.get(16)?.audited.rps
    if (quoted !== undefined && ours !== undefined) {
      lines.push(`  vs Directus 11 (quoted, not measured): ${quoted} req/s → ${fmt(ours / quoted, 1)}×`)
    }
    const e = r.entries
    if (e !== undefined) {
      for (const [label, m] of [
        ['entries?limit=50', e.list],
        ['entries?limit=50&status', e.listByStatus],
        ['create, quota set', e.quotaCreates],
      ] as const) {
        for (const [c, x] of m)
          lines.push(
            `  ${label} c=${String(c).padStart(2)}: ${fmt(x.rps, 0)} req/s, p50 ${fmt(x.p50, 2)} ms, p99 ${fmt(x.p99, 2)} ms`,
          )
      }
    }
  }
  lines.push(`\n${fmt(facts.elapsedMs / 1000, 0)} s in all`)
  return `${lines.join('\n')}\n`
}

// --------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  let settings: Settings
  try {
    settings = readSettings(process.env)
  } catch (e) {
    log(`bench:http: ${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 2
    return
  }
  const startedAt = new Date()
  const started = performance.now()
  const loadStart = loadavg()[0] ?? 0
  const runs: DialectRun[] = []
  for (const name of settings.dialects) runs.push(await benchDialect(TARGETS[name], settings))
  const facts: RunFacts = {
    startedAt,
    elapsedMs: performance.now() - started,
    settings,
    load: { start: loadStart, end: loadavg()[0] ?? 0 },
  }
  process.stdout.write(renderConsole(runs, facts))
  const file = new URL('./http-results.md', import.meta.url)
  writeFileSync(file, renderMarkdown(runs, facts))
  log(`wrote ${fileURLToPath(file)}`)
  if (runs.some((r) => r.status === 'failed')) process.exitCode = 1
}

await main()
