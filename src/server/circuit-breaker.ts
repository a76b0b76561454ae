import { AuditedError } from '../core/errors.js'

export interface CircuitBreakerOptions {
  /** Consecutive database failures that open the circuit (default 5). */
  readonly failureThreshold?: number
  /** How long an open circuit fails fast before letting one probe through (ms, default 5000). */
  readonly cooldownMs?: number
}

/**
 * Fails fast while the database is failing, instead of letting every request wait for
 * its own timeout: after `failureThreshold` consecutive failures the circuit opens and
 * requests get `unavailable` (503, reason `circuit_open`) at once; after `cooldownMs` one
 * request is let through as a probe — its success closes the circuit, its failure opens
 * it again.
 */
export class CircuitBreaker {
  readonly #threshold: number
  readonly #cooldownMs: number
  #state: 'closed' | 'open' | 'half_open' = 'closed'
  #failures = 0
  #openedAt = 0
  #probing = false

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
    if (this.#state === 'open' && Date.now() - this.#openedAt >= this.#cooldownMs) this.#state = 'half_open'
    if (this.#state === 'half_open' && !this.#probing) {
      this.#probing = true
      return { probe: true }
    }
    const waitMs = Math.max(0, this.#cooldownMs - (Date.now() - this.#openedAt))
    throw new AuditedError('unavailable', 'The database is failing; try again shortly.', {
      details: { reason: 'circuit_open' },
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    })
  }

  /** The database answered (whatever the request's outcome). */
  success(probe: boolean): void {
    if (probe) this.#probing = false
    this.#failures = 0
    this.#state = 'closed'
  }

  /** The database failed (unreachable, timed out). */
  failure(probe: boolean): void {
    if (probe) this.#probing = false
    this.#failures += 1
    if (probe || this.#failures >= this.#threshold) {
      this.#state = 'open'
      this.#openedAt = Date.now()
    }
  }

  /** A request admitted as probe ended without touching the database either way. */
  release(probe: boolean): void {
    if (probe) this.#probing = false
  }
}
