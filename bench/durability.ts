/**
 * Relaxed ÷ full durability: engine creates and updates at 1 and 16 callers, both measured
 * in the same run, in alternating rounds. Each durability writes to its own fresh database
 * (on SQLite relaxing is a property of the writer connection, so the two cannot share one).
 * MySQL/MariaDB: the row says why it is not supported (the engine's own refusal).
 */
import { monotonicFactory } from 'ulid'
import {
  type AuditedDatabase,
  createAuditor,
  type DialectName,
  type Durability,
  migrate,
  openDatabase,
} from '../packages/audited/src/index.js'
import { CONCURRENCIES, POOL_SIZE, ROUNDS, type Sizes } from './config.js'
import type { DialectTarget, PendingDrops } from './databases.js'
import { type CaseStats, measure, type RssSampler, type Sample, summarize } from './measure.js'
import { renderTable } from './report.js'
import { createItemsTable, engineWriter, type Writer } from './workload.js'

const DURABILITIES: readonly Durability[] = ['full', 'relaxed']
const DURABILITY_OPS = ['create', 'update'] as const
type DurabilityOp = (typeof DURABILITY_OPS)[number]

export interface DurabilityCell {
  readonly op: DurabilityOp
  readonly concurrency: number
  readonly full: CaseStats
  readonly relaxed: CaseStats
}

export type DurabilityReport =
  | {
      readonly name: DialectName
      readonly status: 'ran'
      readonly ops: number
      readonly cells: DurabilityCell[]
    }
  | {
      readonly name: DialectName
      readonly status: 'not supported' | 'skipped' | 'failed'
      readonly reason: string
    }

const newId = monotonicFactory()

/** Opens one fresh bench database with the engine's tables and an auditor of `durability`. */
async function openWriter(target: DialectTarget, drops: PendingDrops, durability: Durability) {
  const created = await target.create()
  drops.track(created)
  let db: AuditedDatabase | undefined
  try {
    db = await openDatabase(created.url, { pool: { max: POOL_SIZE, acquireTimeoutMs: 30_000 } })
    await migrate(db)
    await createItemsTable(db)
    const writer = engineWriter(createAuditor({ db, timeoutMs: 60_000, durability }))
    const opened = db
    const close = async () => {
      await opened.close()
      await drops.drop(created)
    }
    return { writer, close }
  } catch (e) {
    await db?.close()
    await drops.drop(created)
    throw e
  }
}

/** `count` creates, then an update of each of them: one sample each. */
async function cycle(writer: Writer, count: number, concurrency: number, rss: RssSampler) {
  const ids = Array.from({ length: count }, () => newId())
  const create = await measure(count, concurrency, 1, rss, (i) => writer.create(ids[i]!, i))
  const update = await measure(count, concurrency, 1, rss, (i) => writer.update(ids[i]!, i))
  return { create, update }
}

export async function benchDurability(
  target: DialectTarget,
  sizes: Sizes,
  rss: RssSampler,
  log: (line: string) => void,
  drops: PendingDrops,
): Promise<DurabilityReport> {
  const { name } = target
  const unreachable = await target.unreachable()
  if (unreachable !== undefined) return { name, status: 'skipped', reason: `not reachable: ${unreachable}` }
  let relaxed: Awaited<ReturnType<typeof openWriter>>
  try {
    relaxed = await openWriter(target, drops, 'relaxed')
  } catch (e) {
    // The engine's own refusal (MySQL/MariaDB) is the row's reason.
    const refused = (e as { code?: unknown }).code === 'validation'
    return { name, status: refused ? 'not supported' : 'failed', reason: (e as Error).message }
  }
  const full = await openWriter(target, drops, 'full').catch(async (e: unknown) => {
    await relaxed.close()
    throw e
  })
  const writers = { relaxed, full }
  // Half the main cases' operations: two ops, two durabilities, two concurrencies.
  const perRound = Math.max(2, Math.round(sizes.ops / 2 / ROUNDS))
  try {
    const samples = new Map<string, Sample[]>()
    const key = (d: Durability, op: DurabilityOp, c: number) => `${d}:${op}:${c}`
    for (const concurrency of CONCURRENCIES) {
      for (const d of DURABILITIES) await cycle(writers[d].writer, sizes.warmup, concurrency, rss)
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? DURABILITIES : [...DURABILITIES].reverse()
        for (const d of order) {
          const result = await cycle(writers[d].writer, perRound, concurrency, rss)
          for (const op of DURABILITY_OPS)
            samples.set(key(d, op, concurrency), [
              ...(samples.get(key(d, op, concurrency)) ?? []),
              result[op],
            ])
        }
      }
      log(`  durability ×${concurrency} measured`)
    }
    const cells = CONCURRENCIES.flatMap((concurrency) =>
      DURABILITY_OPS.map((op) => ({
        op,
        concurrency,
        full: summarize(samples.get(key('full', op, concurrency)) ?? []),
        relaxed: summarize(samples.get(key('relaxed', op, concurrency)) ?? []),
      })),
    )
    return { name, status: 'ran', ops: perRound * ROUNDS, cells }
  } catch (e) {
    return { name, status: 'failed', reason: e instanceof Error ? e.message : String(e) }
  } finally {
    await writers.full.close()
    await writers.relaxed.close()
  }
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3))

export const DURABILITY_START = '<!-- durability:start -->'
export const DURABILITY_END = '<!-- durability:end -->'

/** The markdown section (between markers, so that a durability-only run can replace it). */
export function durabilitySection(
  reports: readonly DurabilityReport[],
  when: Date,
  load: { start: number; end: number; cpus: number },
): string {
  const rows: string[][] = []
  const notes: string[] = []
  for (const r of reports) {
    if (r.status !== 'ran') {
      rows.push([r.name, '—', '—', '—', '—', '—', `${r.status} (below)`])
      notes.push(`- **${r.name}** ${r.status}: ${r.reason}`)
      continue
    }
    for (const c of r.cells) {
      rows.push([
        `${r.name} ${c.op} ×${c.concurrency}`,
        fmt(c.full.opsPerSec),
        fmt(c.relaxed.opsPerSec),
        `${(c.relaxed.opsPerSec / c.full.opsPerSec).toFixed(2)}×`,
        fmt(c.full.p50Ms),
        fmt(c.relaxed.p50Ms),
        `${fmt(c.full.ops)} ops each`,
      ])
    }
  }
  const headers = [
    'case',
    'full ops/s',
    'relaxed ops/s',
    'relaxed ÷ full',
    'full p50 ms',
    'relaxed p50 ms',
    'note',
  ]
  return `${DURABILITY_START}
## Durability: relaxed ÷ full

Engine creates, then an update of each created row, through \`createAuditor({ durability })\`:
\`full\` (default) and \`relaxed\` each on their own fresh database (SQLite: \`synchronous\` NORMAL vs
OFF on the writer; PostgreSQL: \`synchronous_commit\` on vs \`SET LOCAL synchronous_commit = off\` per
transaction), measured in the same run (${when.toISOString()}) in ${ROUNDS} alternating rounds; 1-minute load
average ${load.start.toFixed(2)} at start, ${load.end.toFixed(2)} at end (${load.cpus} CPUs, shared with the database servers).

${renderTable(headers, rows, [1, 2, 3, 4, 5])}
${notes.length === 0 ? '' : `\n${notes.join('\n')}\n`}${DURABILITY_END}
`
}

/** `markdown` with its durability section replaced by `section` (appended if it had none). */
export function spliceDurability(markdown: string, section: string): string {
  const start = markdown.indexOf(DURABILITY_START)
  const end = markdown.indexOf(DURABILITY_END)
  if (start < 0 || end < start) return `${markdown.trimEnd()}\n\n${section}`
  const tail = markdown.slice(end + DURABILITY_END.length).replace(/^\n/, '')
  return `${markdown.slice(0, start)}${section}${tail}`
}
