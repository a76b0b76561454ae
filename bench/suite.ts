/** The measured cases of one dialect, on an already created and migrated database. */
import { monotonicFactory } from 'ulid'
import { type AuditedDatabase, type Auditor, createAuditor } from '../packages/audited/src/index.js'
import type { BaselineSql } from './baseline-sql.js'
import { BATCH_ROWS, CONCURRENCIES, ROUNDS, type Sizes } from './config.js'
import { type CaseStats, measure, type RssSampler, type Sample, summarize } from './measure.js'
import type { RawPool, TripCounter } from './raw-pools.js'
import {
  engineCreateMany,
  engineWriter,
  handWriter,
  MODES,
  type Mode,
  OPS,
  type Op,
  plainWriter,
  type Writer,
} from './workload.js'

export type CaseMode = Mode | 'createMany'
export type CaseOp = Op | 'createMany'

export interface CaseResult {
  readonly mode: CaseMode
  readonly op: CaseOp
  readonly concurrency: number
  readonly stats: CaseStats
}

/** Driver calls (round trips on a server) and statements per operation. */
export interface TripProfile {
  readonly trips: number
  readonly statements: number
}

export interface SuiteResult {
  readonly cases: readonly CaseResult[]
  /** Keyed `${mode}:${op}`. */
  readonly trips: ReadonlyMap<string, TripProfile>
}

export interface SuiteInput {
  readonly db: AuditedDatabase
  readonly raw: RawPool
  readonly sql: BaselineSql
  readonly sizes: Sizes
  readonly rss: RssSampler
  readonly log: (line: string) => void
}

/** Engine options for every auditor of the bench: generous timeouts, so a slow disk
 * shows as latency, never as a failed run. */
function benchAuditor(db: AuditedDatabase): Auditor {
  return createAuditor({ db, timeoutMs: 60_000 })
}

type Capabilities = AuditedDatabase['capabilities']
type Lease = Awaited<ReturnType<Capabilities['acquire']>>

/** The same database, counting the engine's driver calls. Used only to profile, never
 * while timing. */
function countingDatabase(db: AuditedDatabase, counter: TripCounter): AuditedDatabase {
  const inner = db.capabilities
  const counted = (lease: Lease): Lease => ({
    release: (destroy) => lease.release(destroy),
    session: {
      run(list) {
        // One request per list: a multi-statement request on MySQL, a pipeline of prepared
        // statements on PostgreSQL; SQLite is in-process.
        counter.trips += 1
        counter.statements += list.length
        return lease.session.run(list)
      },
    },
  })
  const capabilities: Capabilities = { ...inner, acquire: async (ms) => counted(await inner.acquire(ms)) }
  return { ...db, capabilities }
}

const newId = monotonicFactory()
const newIds = (count: number) => Array.from({ length: count }, () => newId())

const caseKey = (mode: CaseMode, op: CaseOp, concurrency: number) => `${mode}:${op}:${concurrency}`

const rate = (s: Sample) => Math.round((s.ops * s.rowsPerOp * 1000) / s.elapsedMs)

export async function runSuite(input: SuiteInput): Promise<SuiteResult> {
  const { db, raw, sql, sizes, rss, log } = input
  const encoding = db.capabilities
  const writers: Readonly<Record<Mode, Writer>> = {
    plain: plainWriter(raw, sql),
    hand: handWriter(raw, sql, encoding),
    engine: engineWriter(benchAuditor(db)),
  }
  const manyAuditor = benchAuditor(db)

  const reset = () =>
    raw.withConnection(async (conn) => {
      for (const statement of sql.reset) await conn.run(statement, [])
    })

  /** Creates `count` new rows, updates each, deletes each: one sample per operation. */
  async function cycle(writer: Writer, count: number, concurrency: number): Promise<Record<Op, Sample>> {
    const ids = newIds(count)
    const create = await measure(count, concurrency, 1, rss, (i) => writer.create(ids[i]!, i))
    const update = await measure(count, concurrency, 1, rss, (i) => writer.update(ids[i]!, i))
    const remove = await measure(count, concurrency, 1, rss, (i) => writer.delete(ids[i]!))
    return { create, update, delete: remove }
  }

  function createManyCycle(calls: number, concurrency: number): Promise<Sample> {
    const batches = Array.from({ length: calls }, () => newIds(BATCH_ROWS))
    return measure(calls, concurrency, BATCH_ROWS, rss, (i) => engineCreateMany(manyAuditor, batches[i]!))
  }

  const trips = await profileTrips(input, writers)
  await reset()

  const samples = new Map<string, Sample[]>()
  const record = (key: string, sample: Sample) => samples.set(key, [...(samples.get(key) ?? []), sample])
  const units: readonly CaseMode[] = [...MODES, 'createMany']
  for (const concurrency of CONCURRENCIES) {
    log(`  warm-up ×${concurrency}`)
    for (const mode of MODES) await cycle(writers[mode], sizes.warmup, concurrency)
    await createManyCycle(Math.max(2, Math.round(sizes.createManyCalls / 10)), concurrency)
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? units : [...units].reverse()
      for (const unit of order) {
        await reset()
        if (unit === 'createMany') {
          const s = await createManyCycle(sizes.createManyCalls / ROUNDS, concurrency)
          record(caseKey(unit, unit, concurrency), s)
          log(`  round ${round + 1} ×${concurrency} createMany  ${rate(s)} rows/s`)
        } else {
          const result = await cycle(writers[unit], sizes.ops / ROUNDS, concurrency)
          for (const op of OPS) record(caseKey(unit, op, concurrency), result[op])
          const rates = OPS.map((op) => `${op} ${rate(result[op])}/s`).join(', ')
          log(`  round ${round + 1} ×${concurrency} ${unit.padEnd(10)} ${rates}`)
        }
      }
    }
  }
  await reset()

  const cases: CaseResult[] = []
  for (const concurrency of CONCURRENCIES) {
    for (const op of OPS) {
      for (const mode of MODES) {
        cases.push({
          mode,
          op,
          concurrency,
          stats: summarize(samples.get(caseKey(mode, op, concurrency)) ?? []),
        })
      }
    }
    const many = samples.get(caseKey('createMany', 'createMany', concurrency)) ?? []
    cases.push({ mode: 'createMany', op: 'createMany', concurrency, stats: summarize(many) })
  }
  return { cases, trips }
}

/** Counts driver calls and statements per operation of each mode (after one warm call, so
 * one-time work such as the engine's column lookup is not counted). */
async function profileTrips(input: SuiteInput, writers: Readonly<Record<Mode, Writer>>) {
  const probes = 8
  const engineCounter: TripCounter = { trips: 0, statements: 0 }
  const counting = benchAuditor(countingDatabase(input.db, engineCounter))
  const profiled: Readonly<Record<Mode, { writer: Writer; counter: TripCounter }>> = {
    plain: { writer: writers.plain, counter: input.raw.counter },
    hand: { writer: writers.hand, counter: input.raw.counter },
    engine: { writer: engineWriter(counting), counter: engineCounter },
  }
  const out = new Map<string, TripProfile>()
  const perOp = async (counter: TripCounter, calls: number, run: () => Promise<void>) => {
    const before = { ...counter }
    await run()
    return {
      trips: (counter.trips - before.trips) / calls,
      statements: (counter.statements - before.statements) / calls,
    }
  }
  const sequentially = async (ids: readonly string[], fn: (id: string, n: number) => Promise<void>) => {
    for (const [n, id] of ids.entries()) await fn(id, n)
  }
  for (const mode of MODES) {
    const { writer, counter } = profiled[mode]
    const [warm] = newIds(1)
    await writer.create(warm!, 0)
    await writer.update(warm!, 0)
    await writer.delete(warm!)
    const ids = newIds(probes)
    out.set(
      `${mode}:create`,
      await perOp(counter, probes, () => sequentially(ids, (id, n) => writer.create(id, n))),
    )
    out.set(
      `${mode}:update`,
      await perOp(counter, probes, () => sequentially(ids, (id, n) => writer.update(id, n))),
    )
    out.set(
      `${mode}:delete`,
      await perOp(counter, probes, () => sequentially(ids, (id) => writer.delete(id))),
    )
  }
  out.set(
    'createMany:createMany',
    await perOp(engineCounter, 1, () => engineCreateMany(counting, newIds(BATCH_ROWS))),
  )
  return out
}
