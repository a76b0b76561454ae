import { AuditedError } from './errors.js'

/**
 * A hybrid logical clock: 48 bits of wall-clock milliseconds, then a 16-bit counter,
 * packed in one bigint (`wall << 16 | counter`). Values exceed 2^53, so they travel as
 * decimal strings in JSON.
 *
 * What it promises: every value one clock issues is strictly greater than the one before
 * (even if the system clock steps back), and after `receive(remote)` every value is
 * greater than `remote`. What it does not promise: that HLC order equals commit order
 * across concurrent transactions — see README "Ordering".
 *
 * @example
 * const clock = new HlcClock()
 * const a = clock.now(); const b = clock.now() // b > a
 */
export class HlcClock {
  #wall = 0n
  #counter = 0n
  #skewRefusals = 0
  readonly #physical: () => number
  readonly #maxDriftMs: bigint

  constructor(options: { physical?: () => number; maxDriftMs?: number } = {}) {
    this.#physical = options.physical ?? Date.now
    this.#maxDriftMs = BigInt(options.maxDriftMs ?? 60_000)
  }

  /** Issues the next timestamp. Never blocks: when the counter would overflow within one
   * millisecond, the logical wall part moves one millisecond ahead of the physical clock. */
  now(): bigint {
    const pt = BigInt(this.#physical())
    if (pt > this.#wall) {
      this.#wall = pt
      this.#counter = 0n
    } else {
      this.#tick()
    }
    return this.#pack()
  }

  /** Merges a timestamp seen from another node; the next `now()` is greater than it. */
  receive(remote: bigint): bigint {
    const { wall: rw, counter: rc } = unpackHlc(remote)
    const pt = BigInt(this.#physical())
    if (rw > pt + this.#maxDriftMs) {
      this.#skewRefusals += 1
      throw new AuditedError('validation', 'A remote clock is too far ahead of this node.', {
        details: { remoteWallMs: rw.toString(), localWallMs: pt.toString() },
      })
    }
    if (pt > this.#wall && pt > rw) {
      this.#wall = pt
      this.#counter = 0n
    } else if (rw > this.#wall) {
      this.#wall = rw
      this.#counter = rc
      this.#tick()
    } else if (rw === this.#wall) {
      this.#counter = rc > this.#counter ? rc : this.#counter
      this.#tick()
    } else {
      this.#tick()
    }
    return this.#pack()
  }

  /**
   * Makes every later `now()` greater than `seen`, a value read from this system's own
   * store (written by any process), and returns true — unless `seen` is more than
   * `maxDriftMs` ahead of the physical clock: then the clock is left alone (one event
   * from a node whose clock runs an hour ahead must not drag every later event of this
   * process an hour into the future), the refusal is counted in `skewRefusals`, and it
   * returns false. A caller that must still order after `seen` does so itself.
   */
  observe(seen: bigint): boolean {
    if (seen >> 16n > BigInt(this.#physical()) + this.#maxDriftMs) {
      this.#skewRefusals += 1
      return false
    }
    if (seen > this.#pack()) {
      this.#wall = seen >> 16n
      this.#counter = seen & 0xffffn
    }
    return true
  }

  /** Values `observe` and `receive` refused because they were too far ahead (for metrics). */
  get skewRefusals(): number {
    return this.#skewRefusals
  }

  /** The last value issued (0n before the first), without advancing the clock. */
  peek(): bigint {
    return this.#pack()
  }

  #tick(): void {
    if (this.#counter === 0xffffn) {
      this.#wall += 1n
      this.#counter = 0n
    } else {
      this.#counter += 1n
    }
  }

  #pack(): bigint {
    return (this.#wall << 16n) | this.#counter
  }
}

/** Splits an HLC into wall milliseconds and counter. */
export function unpackHlc(hlc: bigint): { wall: bigint; counter: bigint } {
  return { wall: hlc >> 16n, counter: hlc & 0xffffn }
}

/** The latest wall time an HLC can carry in a signed 64-bit column (year 6429). */
const MAX_WALL_MS = 2 ** 47 - 1

function wallMs(date: Date): bigint {
  const ms = date.getTime()
  if (!(ms >= 0 && ms <= MAX_WALL_MS)) {
    throw new AuditedError('validation', 'The date is outside what an HLC can represent (1970 to 6429).', {
      details: { date: Number.isNaN(ms) ? 'invalid' : date.toISOString() },
    })
  }
  return BigInt(ms)
}

/** The greatest HLC any clock can issue at or before `date` (for "as of" queries). */
export function hlcAtEndOf(date: Date): bigint {
  return (wallMs(date) << 16n) | 0xffffn
}

/** The smallest HLC for `date`'s millisecond. */
export function hlcAtStartOf(date: Date): bigint {
  return wallMs(date) << 16n
}

/** Parses a decimal HLC string; anything else is a `validation` error. */
export function parseHlc(value: string): bigint {
  if (!/^\d{1,20}$/.test(value)) {
    throw new AuditedError('validation', 'An HLC must be a decimal string.', { details: { value } })
  }
  const n = BigInt(value)
  if (n >= 1n << 63n) {
    throw new AuditedError('validation', 'An HLC must fit in a signed 64-bit integer.', {
      details: { value },
    })
  }
  return n
}
