/**
 * Bench settings: which dialects run and how many operations each case performs.
 *
 * BENCH_DIALECTS  comma list of sqlite, postgres, mysql (default: all three)
 * BENCH_SCALE     multiplier for every operation count (default 1; e.g. 0.05 for a smoke run)
 * BENCH_CASES     `all` (default) or `durability`: only the relaxed ÷ full durability cells,
 *                 whose section of bench/results.md is replaced (the rest is kept); `nats`:
 *                 only the "NATS publishes/s" cells (bench/nats.ts), likewise; `integrity`:
 *                 only the integrity figures (bench/integrity.ts), written to
 *                 bench/integrity-results.md alone
 * PG_URL / MYSQL_URL  server URLs (defaults: the local services)
 */
import type { DialectName } from '../packages/audited/src/index.js'

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/'

/** Concurrent callers per case: sequential, then 16 at once. */
export const CONCURRENCIES: readonly number[] = [1, 16]
/** Connections in every pool (engine and baselines alike); at least the highest concurrency. */
export const POOL_SIZE = 16
/** Rows per `createMany` call. */
export const BATCH_ROWS = 100
/** Each case is split into this many rounds; odd rounds run the modes in reverse order so
 * that drift (caches, WAL growth, autovacuum) does not favour whichever mode runs first. */
export const ROUNDS = 6

const ALL_DIALECTS: readonly DialectName[] = ['sqlite', 'postgres', 'mysql']

/** Operations per case at scale 1, sized for a whole run of about three minutes on 2 cores. */
const BASE_SIZES: Readonly<Record<DialectName, { ops: number; createManyCalls: number }>> = {
  sqlite: { ops: 16_200, createManyCalls: 420 },
  postgres: { ops: 4800, createManyCalls: 180 },
  mysql: { ops: 4800, createManyCalls: 180 },
}

export interface Sizes {
  /** Operations per (mode, op, concurrency) case, over all rounds. */
  readonly ops: number
  /** `createMany` calls per concurrency, over all rounds. */
  readonly createManyCalls: number
  /** Unrecorded operations per mode before measuring each concurrency. */
  readonly warmup: number
}

export interface BenchConfig {
  readonly dialects: readonly DialectName[]
  readonly cases: 'all' | 'durability' | 'delivery' | 'nats' | 'integrity'
  readonly scale: number
  sizes(dialect: DialectName): Sizes
}

function isDialect(name: string): name is DialectName {
  return (ALL_DIALECTS as readonly string[]).includes(name)
}

function parseDialects(raw: string | undefined): DialectName[] {
  if (raw === undefined || raw.trim() === '') return [...ALL_DIALECTS]
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  const unknown = names.filter((n) => !isDialect(n))
  if (unknown.length > 0) {
    throw new Error(`BENCH_DIALECTS: unknown ${unknown.join(', ')} (use ${ALL_DIALECTS.join(', ')})`)
  }
  return ALL_DIALECTS.filter((d) => names.includes(d))
}

function parseScale(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 1
  const scale = Number(raw)
  if (!(Number.isFinite(scale) && scale > 0))
    throw new Error(`BENCH_SCALE must be a number > 0, got "${raw}"`)
  return scale
}

/** Scales a count, keeping at least `min` (and a multiple of ROUNDS, so rounds are equal). */
function scaled(base: number, scale: number, min: number): number {
  const n = Math.max(min, Math.round(base * scale))
  return Math.ceil(n / ROUNDS) * ROUNDS
}

export function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const dialects = parseDialects(env.BENCH_DIALECTS)
  const scale = parseScale(env.BENCH_SCALE)
  const cases = env.BENCH_CASES === undefined || env.BENCH_CASES === '' ? 'all' : env.BENCH_CASES
  if (
    cases !== 'all' &&
    cases !== 'durability' &&
    cases !== 'delivery' &&
    cases !== 'nats' &&
    cases !== 'integrity'
  )
    throw new Error(`BENCH_CASES must be all, durability, delivery, nats or integrity, got "${cases}"`)
  return {
    dialects,
    cases,
    scale,
    sizes(dialect) {
      const base = BASE_SIZES[dialect]
      const ops = scaled(base.ops, scale, 2 * ROUNDS)
      return {
        ops,
        createManyCalls: scaled(base.createManyCalls, scale, ROUNDS),
        warmup: Math.max(POOL_SIZE, Math.round(ops / 10)),
      }
    },
  }
}
