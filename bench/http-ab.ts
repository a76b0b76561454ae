/**
 * `npx tsx bench/http-ab.ts`: audited entry create (`POST /api/v1/entries/:type`) of two
 * source trees side by side — this one ("after") and BENCH_AB_BASE ("before", e.g. a
 * `git archive` of an older commit with node_modules linked) — each server in its own
 * process over its own fresh database, the runs interleaved A B B A so that load from
 * other processes on the machine weighs on both alike. Writes bench/http-ab-results.md.
 *
 * BENCH_AB_BASE   the other tree (required); its bench/http-server.ts is started
 * BENCH_DIALECTS  comma list (default sqlite,postgres)
 * BENCH_SECONDS   seconds per run (default 5); BENCH_ROUNDS  ABBA rounds (default 1)
 */
import { type ChildProcess, fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DialectName } from '../packages/audited/src/index.js'
import { type BenchDatabase, PendingDrops, TARGETS } from './databases.js'
import { ENTRY_BODY, prepareApi } from './http-api.js'
import { describe, fmt, load, type RunResult } from './http-load.js'
import type { ServerMessage } from './http-server.js'

const log = (line: string) => process.stderr.write(`${line}\n`)
const CONCURRENCIES = [1, 16, 64] as const

interface Side {
  readonly label: 'before' | 'after'
  readonly child: ChildProcess
  readonly url: string
  readonly token: string
  readonly db: BenchDatabase
}

async function start(label: Side['label'], tree: string, db: BenchDatabase): Promise<Side> {
  const child = fork(join(tree, 'bench/http-server.ts'), [], {
    cwd: tree,
    env: { ...process.env, DATABASE_URL: db.url },
    execArgv: ['--conditions=audited-dev', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const ready = await new Promise<ServerMessage>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ServerMessage))
    child.once('exit', (code) => reject(new Error(`${label} server exited (code ${code})`)))
  })
  return { label, child, url: ready.url, token: await prepareApi(ready.url), db }
}

async function stop(side: Side): Promise<void> {
  const exited = new Promise<void>((resolve) => side.child.once('exit', () => resolve()))
  if (side.child.exitCode === null) side.child.send('stop')
  const timer = setTimeout(() => side.child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

const create = (side: Side, c: number, seconds: number) =>
  load(
    {
      title: `create, audited (${side.label})`,
      url: `${side.url}/api/v1/entries/article`,
      method: 'POST',
      connections: c,
      seconds,
      token: side.token,
      body: ENTRY_BODY,
    },
    side.child.pid ?? process.pid,
  )

interface Pair {
  readonly before: RunResult[]
  readonly after: RunResult[]
}

const mean = (xs: readonly RunResult[], pick: (r: RunResult) => number) =>
  xs.reduce((a, r) => a + pick(r), 0) / Math.max(1, xs.length)

async function main(): Promise<void> {
  const base = process.env.BENCH_AB_BASE
  if (base === undefined || base.trim() === '')
    throw new Error('BENCH_AB_BASE: the "before" tree is required')
  const here = fileURLToPath(new URL('..', import.meta.url))
  const names = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres')
    .split(',')
    .map((s) => s.trim()) as DialectName[]
  const seconds = Number(process.env.BENCH_SECONDS ?? 5)
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1)
  const drops = new PendingDrops((m) => log(`!! ${m}`))
  const results = new Map<DialectName, Map<number, Pair>>()
  const loadStart = loadavg()[0] ?? 0
  for (const name of names) {
    const target = TARGETS[name]
    log(`\n== ${name}`)
    const dbs = [await target.create(), await target.create()]
    for (const d of dbs) drops.track(d)
    const sides: Side[] = []
    try {
      sides.push(await start('before', base, dbs[0]!), await start('after', here, dbs[1]!))
      const [before, after] = sides as [Side, Side]
      for (const s of sides) await create(s, 16, 1) // warm-up
      const perC = new Map<number, Pair>()
      for (const c of CONCURRENCIES) {
        const pair: Pair = { before: [], after: [] }
        for (let r = 0; r < rounds; r++) {
          for (const side of [before, after, after, before]) {
            const x = await create(side, c, seconds)
            log(describe(x))
            pair[side.label].push(x)
          }
        }
        perC.set(c, pair)
      }
      results.set(name, perC)
    } finally {
      for (const s of sides) await stop(s)
      for (const d of dbs) await drops.drop(d)
    }
  }
  const rows: string[] = [
    '| dialect | conn. | before req/s | after req/s | after ÷ before | before p50 / p99 ms | after p50 / p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ]
  for (const [name, perC] of results) {
    for (const [c, p] of perC) {
      const b = mean(p.before, (r) => r.rps)
      const a = mean(p.after, (r) => r.rps)
      rows.push(
        `| ${name} | ${c} | ${fmt(b, 0)} | ${fmt(a, 0)} | ${fmt(a / b, 2)} | ` +
          `${fmt(
            mean(p.before, (r) => r.p50),
            2,
          )} / ${fmt(
            mean(p.before, (r) => r.p99),
            2,
          )} | ` +
          `${fmt(
            mean(p.after, (r) => r.p50),
            2,
          )} / ${fmt(
            mean(p.after, (r) => r.p99),
            2,
          )} |`,
      )
    }
  }
  const text = [
    '# Audited entry create, before ÷ after (`bench/http-ab.ts`)',
    '',
    `Before: the tree at ${base}; after: this tree. Each server in its own process over its own fresh database, ` +
      `runs interleaved A B B A (${rounds} round(s) of ${seconds} s per side and concurrency, means shown), ` +
      `no quota set, small entry table. Load average (1 min) at start ${fmt(loadStart, 2)}, at end ${fmt(loadavg()[0] ?? 0, 2)} ` +
      '(2 cores shared with other work: compare the ratio, not the absolute figures).',
    '',
    ...rows,
    '',
  ].join('\n')
  writeFileSync(new URL('./http-ab-results.md', import.meta.url), text)
  process.stdout.write(`${text}\n`)
}

await main()
