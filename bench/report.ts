/** Turns the measurements into the stdout tables and bench/results.md. */
import type { DialectName } from '../packages/audited/src/index.js'
import { baselineSql, DIALECT_SQL } from './baseline-sql.js'
import { BATCH_ROWS, CONCURRENCIES, POOL_SIZE, ROUNDS, type Sizes } from './config.js'
import type { CaseResult, SuiteResult, TripProfile } from './suite.js'
import { type Mode, OPS, type Op } from './workload.js'

export interface DialectReport {
  readonly name: DialectName
  readonly status: 'ran' | 'skipped' | 'failed'
  /** Why it was skipped or failed. */
  readonly reason?: string
  readonly settings: readonly (readonly [string, string])[]
  readonly sizes?: Sizes
  readonly suite?: SuiteResult
  readonly elapsedMs: number
}

export interface RunInfo {
  readonly startedAt: Date
  readonly elapsedMs: number
  readonly scale: number
  readonly machine: readonly (readonly [string, string])[]
  readonly overallPeakRssBytes: number
  /** 1-minute load average at start and end (other processes share the CPUs and servers). */
  readonly load: { readonly start: number; readonly end: number; readonly cpus: number }
}

// -- ratios ------------------------------------------------------------------------------

function findCase(suite: SuiteResult, mode: CaseResult['mode'], op: CaseResult['op'], concurrency: number) {
  return suite.cases.find((c) => c.mode === mode && c.op === op && c.concurrency === concurrency)
}

/** engine ops/s ÷ `baseline` ops/s for one op and concurrency. */
function engineRatio(suite: SuiteResult, baseline: Mode, op: Op, concurrency: number): number | undefined {
  const engine = findCase(suite, 'engine', op, concurrency)
  const base = findCase(suite, baseline, op, concurrency)
  if (engine === undefined || base === undefined) return undefined
  return engine.stats.opsPerSec / base.stats.opsPerSec
}

/** createMany rows/s ÷ engine create rows/s (one row per create). */
function createManyRatio(suite: SuiteResult, manyConcurrency: number, createConcurrency: number) {
  const many = findCase(suite, 'createMany', 'createMany', manyConcurrency)
  const create = findCase(suite, 'engine', 'create', createConcurrency)
  if (many === undefined || create === undefined) return undefined
  return many.stats.rowsPerSec / create.stats.opsPerSec
}

// -- targets -----------------------------------------------------------------------------

interface TargetCheck {
  readonly target: string
  readonly dialect: DialectName
  readonly threshold: number
  /** Every compared case: label and ratio. */
  readonly ratios: readonly { readonly label: string; readonly ratio: number }[]
  readonly result: 'PASS' | 'MISS' | 'NOT RUN'
}

const PLAIN_THRESHOLD: Readonly<Record<DialectName, number>> = { sqlite: 0.6, postgres: 0.8, mysql: 0.8 }
const HAND_THRESHOLD = 1.0
const CREATE_MANY_THRESHOLD = 10

function check(
  target: string,
  report: DialectReport,
  threshold: number,
  ratios: (suite: SuiteResult) => { label: string; ratio: number | undefined }[],
): TargetCheck {
  const known =
    report.suite === undefined
      ? []
      : ratios(report.suite).flatMap((r) =>
          r.ratio === undefined ? [] : [{ label: r.label, ratio: r.ratio }],
        )
  const result = known.length === 0 ? 'NOT RUN' : known.every((r) => r.ratio >= threshold) ? 'PASS' : 'MISS'
  return { target, dialect: report.name, threshold, ratios: known, result }
}

const opConcurrencies = () => OPS.flatMap((op) => CONCURRENCIES.map((c) => ({ op, c })))

export function targetChecks(reports: readonly DialectReport[]): TargetCheck[] {
  return reports.flatMap((report) => [
    check(`engine ≥ ${HAND_THRESHOLD.toFixed(1)}× hand`, report, HAND_THRESHOLD, (suite) =>
      opConcurrencies().map(({ op, c }) => ({
        label: `${op} ×${c}`,
        ratio: engineRatio(suite, 'hand', op, c),
      })),
    ),
    check(
      `engine ≥ ${PLAIN_THRESHOLD[report.name].toFixed(1)}× plain`,
      report,
      PLAIN_THRESHOLD[report.name],
      (suite) =>
        opConcurrencies().map(({ op, c }) => ({
          label: `${op} ×${c}`,
          ratio: engineRatio(suite, 'plain', op, c),
        })),
    ),
    check(
      `createMany ≥ ${CREATE_MANY_THRESHOLD}× sequential creates`,
      report,
      CREATE_MANY_THRESHOLD,
      (suite) => [{ label: 'createMany ×1 ÷ create ×1', ratio: createManyRatio(suite, 1, 1) }],
    ),
  ])
}

// -- formatting --------------------------------------------------------------------------

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–')
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 1 ? 3 : 2) : '–')
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)}`
const times = (ratio: number | undefined) => (ratio === undefined ? '' : `${ratio.toFixed(2)}×`)
const trips = (t: TripProfile | undefined) =>
  t === undefined ? '' : `${+t.trips.toFixed(2)} / ${+t.statements.toFixed(2)}`

/** A Markdown table padded to line up in a terminal too. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  right: number[],
) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (right.includes(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`
  return [line(headers), rule, ...rows.map(line)].join('\n')
}

const RESULT_HEADERS = [
  'case',
  'ops/s',
  'rows/s',
  'p50 ms',
  'p99 ms',
  'peak RSS MB',
  'calls / stmts per op',
  'engine ÷ plain',
  'engine ÷ hand',
  'createMany ÷ seq. create',
]

function resultRow(suite: SuiteResult, c: CaseResult): string[] {
  const { stats } = c
  const isEngine = c.mode === 'engine' && c.op !== 'createMany'
  const op = c.op === 'createMany' ? undefined : c.op
  return [
    c.mode === 'createMany'
      ? `createMany(${BATCH_ROWS}) ×${c.concurrency}`
      : `${c.op} ${c.mode} ×${c.concurrency}`,
    int(stats.opsPerSec),
    int(stats.rowsPerSec),
    ms(stats.p50Ms),
    ms(stats.p99Ms),
    mb(stats.peakRssBytes),
    trips(suite.trips.get(`${c.mode}:${c.op}`)),
    isEngine && op !== undefined ? times(engineRatio(suite, 'plain', op, c.concurrency)) : '',
    isEngine && op !== undefined ? times(engineRatio(suite, 'hand', op, c.concurrency)) : '',
    c.mode === 'createMany' ? times(createManyRatio(suite, c.concurrency, 1)) : '',
  ]
}

export function resultTable(suite: SuiteResult): string {
  return renderTable(
    RESULT_HEADERS,
    suite.cases.map((c) => resultRow(suite, c)),
    [1, 2, 3, 4, 5, 7, 8, 9],
  )
}

export function targetTable(checks: readonly TargetCheck[]): string {
  const rows = checks.map((t) => {
    const worst = [...t.ratios].sort((a, b) => a.ratio - b.ratio)[0]
    const met = t.ratios.filter((r) => r.ratio >= t.threshold).length
    return [
      t.target,
      t.dialect,
      worst === undefined ? '' : `${times(worst.ratio)} (${worst.label})`,
      t.ratios.length === 0 ? '' : `${met}/${t.ratios.length}`,
      t.ratios.map((r) => `${r.label} ${times(r.ratio)}`).join(', '),
      t.result,
    ]
  })
  return renderTable(['target', 'dialect', 'worst', 'cases met', 'all ratios', 'result'], rows, [3])
}

function statusLine(report: DialectReport): string {
  if (report.status === 'skipped') return `**SKIPPED** — ${report.reason ?? ''}`
  if (report.status === 'failed') return `**FAILED** — ${report.reason ?? ''}`
  const s = report.sizes
  return s === undefined
    ? ''
    : `${int(s.ops)} operations per case, ${int(s.createManyCalls)} createMany calls per concurrency, ` +
        `${ROUNDS} rounds, warm-up ${int(s.warmup)} ops per mode and concurrency; ` +
        `${(report.elapsedMs / 1000).toFixed(0)} s.`
}

/** What stdout shows: one table per dialect, then the targets. */
export function renderConsole(reports: readonly DialectReport[], run: RunInfo): string {
  const parts = reports.map((r) => {
    const body = r.suite === undefined ? '' : `\n${resultTable(r.suite)}\n`
    return `\n== ${r.name} ==  ${statusLine(r)}${body}`
  })
  return [
    ...parts,
    '\n== targets ==',
    targetTable(targetChecks(reports)),
    `\nwhole run ${(run.elapsedMs / 1000).toFixed(0)} s, peak RSS ${mb(run.overallPeakRssBytes)} MB, ` +
      `load average ${run.load.start.toFixed(2)} → ${run.load.end.toFixed(2)}\n`,
  ].join('\n')
}

// -- results.md ----------------------------------------------------------------------------

const DRIVER_NOTES: Readonly<Record<DialectName, string>> = {
  sqlite:
    'better-sqlite3 handle on the same file with the pragmas `openDatabase` sets (WAL, `synchronous = NORMAL`, ' +
    '`busy_timeout = 5000`, `foreign_keys = ON`); statements prepared once and cached; an async FIFO lock ' +
    'serialises transactions, as the engine’s single-writer lease does. One driver call per statement (in-process).',
  postgres:
    `\`pg.Pool\` (max ${POOL_SIZE}); statements with parameters run as named prepared statements (parsed once per ` +
    'connection, then Bind/Execute only), BEGIN/COMMIT/ROLLBACK as simple queries. One round trip per statement.',
  mysql:
    `mysql2 pool (${POOL_SIZE} connections); statements with parameters run through \`execute\` (server-side ` +
    'prepared statements cached per connection), START TRANSACTION/COMMIT through `query`. One round trip per statement.',
}

function modeTable(): string {
  return renderTable(
    ['mode', 'create', 'update', 'delete'],
    [
      [
        '**plain** (no audit)',
        'BEGIN; INSERT item; COMMIT',
        'BEGIN; UPDATE item; COMMIT',
        'BEGIN; DELETE item; COMMIT',
      ],
      [
        '**hand** (audit written by hand)',
        'BEGIN; INSERT item; INSERT event; COMMIT',
        'BEGIN; SELECT item (locked); UPDATE item; INSERT event; COMMIT',
        'BEGIN; SELECT item (locked); DELETE item; INSERT event; COMMIT',
      ],
      [
        '**engine**',
        '`auditor.create(items, {id, title, body}, ctx)`',
        '`auditor.update(items, id, {title, views}, ctx)`',
        '`auditor.delete(items, id, ctx)`',
      ],
      [
        '**createMany**',
        `\`auditor.createMany(items, ${BATCH_ROWS} rows, ctx)\`: rows/s ÷ sequential engine create rows/s`,
        '',
        '',
      ],
    ],
    [],
  )
}

function baselineSection(dialects: readonly DialectName[]): string {
  const sample = baselineSql('mysql')
  const traits = renderTable(
    ['dialect', 'BEGIN', 'before-state lock', 'placeholders'],
    dialects.map((d) => [
      d,
      `\`${DIALECT_SQL[d].begin}\``,
      DIALECT_SQL[d].lock === ''
        ? 'none (BEGIN IMMEDIATE holds the write lock)'
        : `\`${DIALECT_SQL[d].lock.trim()}\``,
      DIALECT_SQL[d].numbered ? '`$1…`' : '`?`',
    ]),
    [],
  )
  const drivers = dialects.map((d) => `- **${d}** baselines: ${DRIVER_NOTES[d]}`).join('\n')
  const q = (s: { sql: string }) => `\`${s.sql}\``
  return `## What each case does

Every operation is one transaction on one leased connection; **ops/s** counts transactions.
Every case runs with 1 caller (sequential) and with 16 concurrent callers; the pools hold ${POOL_SIZE}
connections (engine and baselines alike, separate pools on the same database).

${modeTable()}

Baseline statements (shown with \`?\`; PostgreSQL uses \`$1…\`):

- item insert: ${q(sample.insertItem)}
- item update: ${q(sample.updateItem)}
- item delete: ${q(sample.deleteItem)}
- before-state (hand update/delete): ${q(sample.selectItem)}
- event insert (hand): ${q(sample.insertEvent)}

The hand-written event carries what the engine's does: a ULID event id, an HLC, wall time, node,
tenant, a transaction id (the event id: one event per transaction), table, record id, operation, action, actor, \`JSON.stringify\` of the
before/after rows and of the changed field names, request id, IP and user agent. For update the
after-state is computed in JS from the locked before-state (no read-back); create needs no read at all.
Plain and hand check that exactly one row was affected. Nothing is pipelined: every statement is its
own driver call, as hand-written code with a transaction helper usually is.

${traits}

${drivers}

The engine (\`openDatabase(url, { pool: { max: ${POOL_SIZE}, acquireTimeoutMs: 30000 } })\`,
\`createAuditor({ db, timeoutMs: 60000 })\`, timeouts raised so that a slow disk shows as latency)
sends BEGIN with its first statements and the event INSERT with COMMIT: on MariaDB as multi-statement
requests (\`multipleStatements\`, client-side escaping), on PostgreSQL as a pipeline of named prepared
statements (pg's pipeline mode) — one round trip each way. It reads the before-state with \`SELECT … FOR UPDATE\` on update and delete, and reads each
written row back (\`RETURNING *\` on SQLite and PostgreSQL, a \`SELECT\` on MariaDB).
The column **calls / stmts per op** is measured (8 operations after a warm one, counted at the driver
boundary): driver calls — round trips on a server — and the statements they carry, BEGIN and COMMIT
included.

Between measured cycles both tables are emptied (outside timing), so every mode starts from the same
state. Each case is measured in ${ROUNDS} rounds that alternate the order of the modes (plain, hand, engine,
createMany, then the reverse), so slow drift and background load do not favour whichever runs first. **ops/s** = operations ÷ summed wall time of the
rounds; **p50 / p99** are nearest-rank over every operation's latency; **peak RSS** is the whole
process (engine and baseline pools), sampled every 20 ms and every 64 operations during the case.
`
}

function settingsSection(reports: readonly DialectReport[]): string {
  const lines = reports.map((r) => {
    if (r.settings.length === 0) return `- **${r.name}**: ${statusLine(r)}`
    return `- **${r.name}**: ${r.settings.map(([k, v]) => `${k} = \`${v}\``).join(', ')}`
  })
  return `## Databases and settings\n\n${lines.join('\n')}\n`
}

export function renderMarkdown(reports: readonly DialectReport[], run: RunInfo): string {
  const machine = run.machine.map(([k, v]) => `- ${k}: ${v}`).join('\n')
  const perDialect = reports
    .map(
      (r) =>
        `### ${r.name}\n\n${statusLine(r)}\n${r.suite === undefined ? '' : `\n${resultTable(r.suite)}\n`}`,
    )
    .join('\n')
  return `# audited — engine benchmark

Generated by \`npm run bench\` (\`bench/engine.ts\`) on ${run.startedAt.toISOString()}; whole run
${(run.elapsedMs / 1000).toFixed(0)} s at BENCH_SCALE=${run.scale}, process peak RSS ${mb(run.overallPeakRssBytes)} MB;
1-minute load average ${run.load.start.toFixed(2)} at start, ${run.load.end.toFixed(2)} at end (${run.load.cpus} CPUs; other processes may share them and the database servers).
All ratios compare figures measured in this same run. Numbers are reported as measured.

The CMS service's HTTP benchmark (\`npm run bench:http\`: entry create and update over HTTP against
a bare route, event-list and history reads at 1M events) writes its own report:
[http-results.md](http-results.md).

## Machine

${machine}

${settingsSection(reports)}
${baselineSection(reports.map((r) => r.name))}
## Results

${perDialect}
## Targets

${targetTable(targetChecks(reports))}

A target passes only if every compared case meets it (each op at 1 and 16 callers for the engine
targets; createMany at 1 caller against sequential engine creates).
`
}
