/**
 * `npm run bench`: the engine against plain and hand-written SQL on SQLite, PostgreSQL
 * and MariaDB/MySQL, each in its own fresh database. Prints the tables and writes
 * bench/results.md. See bench/config.ts for BENCH_DIALECTS and BENCH_SCALE.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, type as osType, platform, release, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { type DialectName, migrate, openDatabase } from '../packages/audited/src/index.js'
import { baselineSql } from './baseline-sql.js'
import { type BenchConfig, MYSQL_URL, PG_URL, POOL_SIZE, readConfig } from './config.js'
import { PendingDrops, readSettings, TARGETS } from './databases.js'
import { benchDelivery, type DeliveryReport, deliveryMarkdown, deliverySizes } from './delivery.js'
import { benchDurability, type DurabilityReport, durabilitySection, spliceDurability } from './durability.js'
import { benchIntegrity, type IntegrityReport, integritySizes } from './integrity.js'
import { integrityMarkdown } from './integrity-report.js'
import { RssSampler } from './measure.js'
import { runNats, spliceNats } from './nats-cells.js'
import { type DialectReport, renderConsole, renderMarkdown } from './report.js'
import { runSuite } from './suite.js'
import { createItemsTable } from './workload.js'

const log = (line: string) => process.stderr.write(`${line}\n`)

function loud(message: string): void {
  const bar = '!'.repeat(78)
  log(`\n${bar}\n!! ${message}\n${bar}\n`)
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e)
}

const drops = new PendingDrops(loud)

process.once('SIGINT', () => {
  log('\ninterrupted: dropping bench databases')
  void drops.dropAll().finally(() => process.exit(130))
})

async function benchDialect(name: DialectName, config: BenchConfig, rss: RssSampler): Promise<DialectReport> {
  const target = TARGETS[name]
  const started = performance.now()
  const elapsed = () => performance.now() - started
  const unreachable = await target.unreachable()
  if (unreachable !== undefined) {
    loud(`${name} is not reachable (${unreachable}); its benchmark is SKIPPED.`)
    return { name, status: 'skipped', reason: `not reachable: ${unreachable}`, settings: [], elapsedMs: 0 }
  }
  const sizes = config.sizes(name)
  log(`\n${name}: ${sizes.ops} ops per case, ${sizes.createManyCalls} createMany calls per concurrency`)
  const created = await target.create()
  drops.track(created)
  try {
    const db = await openDatabase(created.url, { pool: { max: POOL_SIZE, acquireTimeoutMs: 30_000 } })
    const raw = target.openRaw(created, POOL_SIZE)
    try {
      await migrate(db)
      await createItemsTable(db)
      const settings = await readSettings(target, db, raw)
      const suite = await runSuite({ db, raw, sql: baselineSql(name), sizes, rss, log })
      return { name, status: 'ran', settings, sizes, suite, elapsedMs: elapsed() }
    } finally {
      await raw.close()
      await db.close()
    }
  } catch (e) {
    loud(`${name} benchmark FAILED: ${errorMessage(e)}`)
    return {
      name,
      status: 'failed',
      reason: errorMessage(e).split('\n')[0],
      settings: [],
      elapsedMs: elapsed(),
    }
  } finally {
    await drops.drop(created)
  }
}

/** The engine source measured: the commit, and any uncommitted change under src/. */
function sourceState(): string {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: 'pipe' })
  try {
    const commit = git('rev-parse', '--short', 'HEAD').trim()
    // Porcelain lines are "XY path": the status columns may start with a space.
    const dirty = git('status', '--porcelain', '--', 'packages')
      .split('\n')
      .filter((line) => line.length > 3)
    return dirty.length === 0
      ? `git ${commit}, packages/ clean`
      : `git ${commit} with uncommitted changes in ${dirty.map((line) => line.slice(3)).join(', ')}`
  } catch {
    return 'unknown (not a git checkout)'
  }
}

/** host:port only — never credentials. */
const serverAddress = (url: string) => new URL(url).host

function machineFacts(config: BenchConfig): [string, string][] {
  const cpu = cpus()
  const servers = [
    ...(config.dialects.includes('postgres') ? [`PostgreSQL at ${serverAddress(PG_URL)}`] : []),
    ...(config.dialects.includes('mysql') ? [`MariaDB/MySQL at ${serverAddress(MYSQL_URL)}`] : []),
  ]
  return [
    ['engine source', sourceState()],
    ['node', process.version],
    ['cpus', `${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`],
    ['os', `${osType()} ${release()} (${platform()} ${process.arch})`],
    [
      'memory',
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free at start`,
    ],
    ['database servers', servers.length === 0 ? 'none' : `${servers.join(', ')} (same machine as the bench)`],
    ['SQLite', 'a file in a fresh directory under os.tmpdir()'],
  ]
}

/** The integrity figures of every dialect, written to bench/integrity-results.md. */
async function runIntegrity(config: BenchConfig, rss: RssSampler, startedAt: Date, loadAtStart: number) {
  const reports: IntegrityReport[] = []
  for (const name of config.dialects) {
    const sizes = integritySizes(name, config.scale, config.sizes(name))
    log(
      `\n${name}: integrity (verify ${sizes.verifyEvents.toLocaleString('en-US')} events, lag ${sizes.lagMs / 1000} s)`,
    )
    reports.push(await benchIntegrity(TARGETS[name], sizes, rss, log, drops))
  }
  const markdown = integrityMarkdown(reports, startedAt, config.scale, {
    start: loadAtStart,
    end: loadavg()[0] ?? 0,
    cpus: cpus().length,
  })
  process.stdout.write(markdown)
  const file = new URL('./integrity-results.md', import.meta.url)
  writeFileSync(file, markdown)
  log(`wrote ${file.pathname}`)
  if (reports.some((r) => r.status === 'failed')) process.exitCode = 1
}

async function main(): Promise<void> {
  let config: BenchConfig
  try {
    config = readConfig(process.env)
  } catch (e) {
    log(`bench: ${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 2
    return
  }
  const startedAt = new Date()
  const started = performance.now()
  const machine = machineFacts(config)
  const loadAtStart = loadavg()[0] ?? 0
  const rss = new RssSampler()
  const reports: DialectReport[] = []
  const durability: DurabilityReport[] = []
  const delivery: DeliveryReport[] = []
  const file = new URL('./results.md', import.meta.url)
  if (config.cases === 'integrity') {
    await runIntegrity(config, rss, startedAt, loadAtStart)
    rss.stop()
    return
  }
  if (config.cases === 'nats') {
    // Only the NATS publishes/s cells: their section of results.md is replaced.
    const nats = await runNats(config, drops, log, loud)
    process.stdout.write(nats.section)
    const before = existsSync(file) ? readFileSync(file, 'utf8') : '# audited — engine benchmark\n'
    writeFileSync(file, spliceNats(before, nats.section))
    log(`wrote the NATS section of ${file.pathname}`)
    if (nats.failed) process.exitCode = 1
    return
  }
  for (const name of config.dialects) {
    if (config.cases === 'all') reports.push(await benchDialect(name, config, rss))
    if (config.cases !== 'delivery') {
      log(`\n${name}: durability cells (relaxed ÷ full)`)
      durability.push(await benchDurability(TARGETS[name], config.sizes(name), rss, log, drops))
    }
    log(`\n${name}: feed visibility and webhook deliveries`)
    delivery.push(await benchDelivery(TARGETS[name], drops, log, deliverySizes(config.scale)))
  }
  const deliveryFile = new URL('./delivery-results.md', import.meta.url)
  writeFileSync(
    deliveryFile,
    deliveryMarkdown(
      delivery,
      startedAt,
      `${loadAtStart.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)} on ${cpus().length} CPUs`,
    ),
  )
  log(`wrote ${deliveryFile.pathname}`)
  if (delivery.some((r) => r.status === 'failed')) process.exitCode = 1
  if (config.cases === 'delivery') return
  const nats = config.cases === 'all' ? await runNats(config, drops, log, loud) : undefined
  if (config.cases === 'all') await runIntegrity(config, rss, new Date(), loadavg()[0] ?? 0)
  rss.stop()
  const section = durabilitySection(durability, startedAt, {
    start: loadAtStart,
    end: loadavg()[0] ?? 0,
    cpus: cpus().length,
  })
  if (config.cases === 'durability') {
    process.stdout.write(section)
    const before = existsSync(file) ? readFileSync(file, 'utf8') : '# audited — engine benchmark\n'
    writeFileSync(file, spliceDurability(before, section))
    log(`wrote the durability section of ${file.pathname}`)
    if (durability.some((r) => r.status === 'failed')) process.exitCode = 1
    return
  }
  const run = {
    startedAt,
    elapsedMs: performance.now() - started,
    scale: config.scale,
    machine,
    overallPeakRssBytes: rss.overallPeak,
    load: { start: loadAtStart, end: loadavg()[0] ?? 0, cpus: cpus().length },
  }
  process.stdout.write(renderConsole(reports, run))
  process.stdout.write(section)
  process.stdout.write(nats!.section)
  writeFileSync(file, spliceNats(spliceDurability(renderMarkdown(reports, run), section), nats!.section))
  log(`wrote ${file.pathname}`)
  if (
    reports.some((r) => r.status === 'failed') ||
    durability.some((r) => r.status === 'failed') ||
    nats!.failed
  )
    process.exitCode = 1
}

await main()
