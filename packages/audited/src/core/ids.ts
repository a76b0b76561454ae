import { monotonicFactory } from 'ulid'
import { RandomPool } from './random-pool.js'

/**
 * A ULID generator whose ids sort in creation order within this process (monotonic in
 * the same millisecond). Event and transaction ids come from it. Its randomness comes from
 * a pooled buffer: ulid's default source asks the system for one byte per character (about
 * 57 µs per id here); one 4 KiB refill serves ~250 ids.
 *
 * @example
 * const nextId = createIdFactory(); nextId() // '01JD…'
 */
export function createIdFactory(): () => string {
  const pool = new RandomPool()
  return monotonicFactory(() => pool.fraction())
}
