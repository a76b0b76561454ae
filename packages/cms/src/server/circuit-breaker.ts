import type { DatabaseOutcome } from 'audited'
import { AuditedError } from 'audited'

export interface CircuitBreakerOptions {
  /** Consecutive database calls that found it unreachable before the circuit opens (default 5). */
  readonly failureThreshold?: number
  /** How long an open circuit fails fast before letting one probe through (ms, default 5000). */
  readonly cooldownMs?: number
}

/**
 * Fails fast while the database is unreachable, instead of letting every request wait for
 * its own timeout. It counts database calls, not HTTP responses (see `DatabaseHealth`):
 * `failureThreshold` consecutive calls that could not reach the database open the circuit,
 * and requests then get `unavailable` (503, reason `circuit_open`) at once; any call the
 * database answers — even with a lock timeout or a constraint error, which are contention,
 * not faults — counts as a success. A request that never touches the database (a 401
 * without a token) counts as neither.
 *
 * After `cooldownMs` the circuit is half-open: one request at a time is let through as a
 * probe. The first database outcome decides (answered: closed; unreachable: open again).
 * The probe slot is freed when the probe's connection closes — answered or aborted — and
 * at the latest after another `cooldownMs`, so a lost probe can never keep it open.
 */
export class CircuitBreaker {
  readonly #threshold: number
  readonly #cooldownMs: number
  #state: 'closed' | 'open' | 'half_open' = 'closed'
  #failures = 0
  #openedAt = 0
  /** When the current probe was let in (0: no probe out). */
  #probeSince = 0

  constructor(options: CircuitBreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? 5
    this.#cooldownMs = options.cooldownMs ?? 5000
  }

  get state(): 'closed' | 'open' | 'half_open' {
    return this.#state
  }

  /** Lets a request in (returns whether it is the probe) or throws `unavailable`. */
  admit(): { probe: boolean } {
    if (this.#state === 'closed') return { probe: false }
    const now = Date.now()
    if (this.#state === 'open' && now - this.#openedAt >= this.#cooldownMs) {
      this.#state = 'half_open'
      this.#probeSince = 0
    }
    if (
      this.#state === 'half_open' &&
      (this.#probeSince === 0 || now - this.#probeSince >= this.#cooldownMs)
    ) {
      this.#probeSince = now
      return { probe: true }
    }
    const waitMs = Math.max(0, this.#cooldownMs - (now - this.#openedAt))
    throw new AuditedError('unavailable', 'The database is failing; try again shortly.', {
      details: { reason: 'circuit_open' },
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    })
  }

  /** A database call's outcome (subscribe this to `db.health`). */
  readonly observe = (outcome: DatabaseOutcome): void => {
    if (outcome === 'answered') {
      this.#failures = 0
      this.#state = 'closed'
      this.#probeSince = 0
      return
    }
    this.#failures += 1
    if (this.#state === 'half_open' || (this.#state === 'closed' && this.#failures >= this.#threshold)) {
      this.#state = 'open'
      this.#openedAt = Date.now()
      this.#probeSince = 0
    }
  }

  /** The probe request is over (its response sent or its connection gone). */
  release(probe: boolean): void {
    if (probe && this.#state === 'half_open') this.#probeSince = 0
  }
}
