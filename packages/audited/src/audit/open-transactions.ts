import type { HlcClock } from '../core/hlc.js'
import { hlcAtEndOf } from '../core/hlc.js'

/**
 * Tracks this process's open write transactions by the HLC each one took when it began,
 * so that cursor reads can stop just below the oldest one still open.
 *
 * Every event a transaction records has an HLC above its start value, so an event below
 * the horizon can no longer appear: a reader that never passes the horizon never skips
 * an event that commits late with an earlier HLC.
 */
/** Open transactions by clock: auditors sharing a clock (by default every auditor of the
 * process) share one registry, so each one's horizon covers the others' transactions. */
const REGISTRIES = new WeakMap<HlcClock, Map<bigint, number>>()

export class OpenTransactions {
  readonly #open: Map<bigint, number>
  readonly #clock: HlcClock
  readonly #settleMs: number

  /**
   * @param settleMs how long after its HLC an event written by another process may still
   *   commit (their transactions are invisible here); 0 when this process is the only writer.
   */
  constructor(clock: HlcClock, settleMs: number) {
    this.#clock = clock
    this.#settleMs = settleMs
    let open = REGISTRIES.get(clock)
    if (open === undefined) {
      open = new Map()
      REGISTRIES.set(clock, open)
    }
    this.#open = open
  }

  /** Registers a transaction; returns its start HLC (all its events are above it). */
  begin(): bigint {
    const start = this.#clock.now()
    this.#open.set(start, (this.#open.get(start) ?? 0) + 1)
    return start
  }

  end(start: bigint): void {
    const n = this.#open.get(start) ?? 0
    if (n <= 1) this.#open.delete(start)
    else this.#open.set(start, n - 1)
  }

  /** The highest HLC a cursor may reach now without risking a skip. */
  horizon(): bigint {
    let h = this.#clock.now() // any transaction that begins later starts above this
    for (const start of this.#open.keys()) if (start - 1n < h) h = start - 1n
    if (this.#settleMs > 0) {
      const settled = hlcAtEndOf(new Date(Date.now() - this.#settleMs))
      if (settled < h) h = settled
    }
    return h
  }
}
