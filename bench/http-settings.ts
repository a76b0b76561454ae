/** bench:http settings: BENCH_* environment variables, connection counts, targets. */
import type { DialectName } from '../packages/audited/src/index.js'

export type ServerMode = 'child' | 'inprocess'

export interface Settings {
  readonly dialects: readonly DialectName[]
  readonly seconds: number
  readonly events: number
  readonly entries: number
  readonly mode: ServerMode
}

export const CONCURRENCIES = [1, 16, 64] as const
export const READ_CONCURRENCIES = [1, 16] as const
export const WARMUP_SECONDS = 1
/** Entries the updates rotate over: far more than connections, so no two in-flight
 * PATCHes touch the same row (each would otherwise be a version conflict, 409). */
export const UPDATE_ENTRIES = 4096
export const HISTORY_RECORDS = 2000
export const FULL_SCALE_EVENTS = 1_000_000
export const TARGET_RATIO = 0.7
export const TARGET_READ_P99_MS = 20
/** Quoted from the issue, not measured here: Directus 11 creating items at concurrency 16. */
export const DIRECTUS_QUOTED: Partial<Record<DialectName, number>> = { sqlite: 80, postgres: 110 }

export function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw.replaceAll('_', ''))
  if (!(Number.isFinite(n) && n > 0)) throw new Error(`${name} must be a number > 0, got "${raw}"`)
  return n
}

export function readSettings(env: NodeJS.ProcessEnv): Settings {
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
