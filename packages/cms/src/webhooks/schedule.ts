/**
 * When a failed webhook delivery is tried again. The schedule lists the delay before each
 * attempt (the first is usually 0: at once); after its last entry the message is
 * dead-lettered. Non-zero delays get ±10 % jitter so receivers that failed together are not
 * retried together; a receiver's `Retry-After` wins when it asks for longer.
 */
import { AuditedError } from 'audited'
import { MAX_RETRY_AFTER_MS } from './retry-after.js'

/** At once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts over about 3 days. */
export const STANDARD_SCHEDULE_MS: readonly number[] = Object.freeze([
  0, 5e3, 3e5, 18e5, 72e5, 18e6, 36e6, 504e5, 72e6, 864e5,
])

/** The longest single delay a schedule may hold. */
export const MAX_SCHEDULE_DELAY_MS = 7 * 24 * 60 * 60 * 1000
export const MAX_SCHEDULE_ENTRIES = 100
export const JITTER = 0.1

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 }

/**
 * A schedule from `WEBHOOK_RETRY_SCHEDULE`: comma-separated durations, each a whole number
 * with a unit (`ms`, `s`, `m`, `h`, `d`) or a bare `0`, e.g. `0,1s,500ms,5m,2h`. Unset or
 * blank: the standard schedule. Anything else throws `validation` naming the bad entry.
 */
export function parseSchedule(env: string | undefined): number[] {
  if (env === undefined || env.trim() === '') return [...STANDARD_SCHEDULE_MS]
  const parts = env.split(',').map((p) => p.trim())
  if (parts.length > MAX_SCHEDULE_ENTRIES) {
    throw invalid(`it has ${parts.length} entries; at most ${MAX_SCHEDULE_ENTRIES} are allowed`)
  }
  return parts.map((part, i) => {
    const m = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(part)
    if (m === null || (m[2] === undefined && m[1] !== '0')) {
      throw invalid(
        `entry ${i + 1} (${JSON.stringify(part)}) is not a duration like 0, 500ms, 5s, 5m, 2h or 1d`,
      )
    }
    const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!
    if (ms > MAX_SCHEDULE_DELAY_MS) throw invalid(`entry ${i + 1} (${part}) is longer than 7 days`)
    return ms
  })
}

/**
 * The delay before the next attempt, given how many attempts were already made, or
 * `undefined` when the schedule is used up (dead-letter). `retryAfterMs` (from the receiver,
 * already capped at 24 h) replaces the scheduled delay when it is longer.
 */
export function nextDelayMs(
  attempt: number,
  schedule: readonly number[],
  retryAfterMs?: number,
  random: () => number = Math.random,
): number | undefined {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new AuditedError('validation', 'The attempt count must be a whole number, 0 or more.')
  }
  if (attempt >= schedule.length) return undefined
  const base = schedule[attempt]!
  const jittered = base === 0 ? 0 : Math.round(base * (1 - JITTER + 2 * JITTER * random()))
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= jittered)
    return jittered
  return Math.min(Math.round(retryAfterMs), MAX_RETRY_AFTER_MS)
}

function invalid(why: string): AuditedError {
  return new AuditedError('validation', `WEBHOOK_RETRY_SCHEDULE is invalid: ${why}.`)
}
