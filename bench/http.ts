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
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { TARGETS } from './databases.js'
import { renderConsole } from './http-console.js'
import { benchDialect, type DialectRun } from './http-dialect.js'
import { log } from './http-log.js'
import { renderMarkdown } from './http-report.js'
import type { RunFacts } from './http-report-parts.js'
import { readSettings, type Settings } from './http-settings.js'

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
