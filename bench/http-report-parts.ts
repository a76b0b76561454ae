/** bench:http report pieces: verdicts, error summaries, machine and setting rows, Markdown tables. */
import { execFileSync } from 'node:child_process'
import { cpus, freemem, type as osType, platform, release, totalmem } from 'node:os'
import { ENTRY_BODY } from './http-api.js'
import { fmt, type RunResult } from './http-load.js'
import { SERVER_SETTINGS } from './http-server.js'
import {
  CONCURRENCIES,
  HISTORY_RECORDS,
  READ_CONCURRENCIES,
  type Settings,
  UPDATE_ENTRIES,
  WARMUP_SECONDS,
} from './http-settings.js'

export const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS')

/** The columns every load-run row ends with, and their cells for one run. */
export const RUN_COLUMNS = ['req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors/non-2xx'] as const
export const runCells = (x: RunResult): string[] => [
  fmt(x.rps, 0),
  fmt(x.p50, 2),
  fmt(x.p99, 2),
  fmt(x.max, 0),
  problems(x),
]

export function problems(r: RunResult): string {
  const bad = r.non2xx + r.errors + r.timeouts
  if (bad === 0) return '0'
  const codes = Object.entries(r.statuses)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${n}× ${code}${r.samples[code] === undefined ? '' : ` (${r.samples[code]})`}`)
  return [...codes, r.errors > 0 ? `${r.errors} errors` : '', r.timeouts > 0 ? `${r.timeouts} timeouts` : '']
    .filter((x) => x !== '')
    .join(', ')
}

export function sourceState(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: 'pipe' }).trim()
    const dirty = git('status', '--porcelain', '--', 'packages')
    return `git ${git('rev-parse', '--short', 'HEAD')}, packages/ ${dirty === '' ? 'clean' : 'with uncommitted changes'}`
  } catch {
    return 'unknown'
  }
}

export interface RunFacts {
  readonly startedAt: Date
  readonly elapsedMs: number
  readonly settings: Settings
  readonly load: { start: number; end: number }
}

export function machineRows(facts: RunFacts): [string, string][] {
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

export function settingRows(facts: RunFacts): [string, string][] {
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

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}
