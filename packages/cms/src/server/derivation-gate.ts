import { AuditedError } from 'audited'

export interface DerivationGateOptions {
  /** Key derivations running at once (default 2: libuv's pool has 4 threads, shared with
   * file, DNS and zlib work). */
  readonly maxConcurrent?: number
  /** Derivations waiting for a slot (default 32); beyond it a login is refused at once. */
  readonly maxQueued?: number
}

/**
 * Bounds password key derivations (scrypt runs on the libuv threadpool): a login flood
 * gets at most `maxConcurrent` threads and a short queue, and the rest `rate_limited`
 * (reason `login_busy`) instead of starving every other request of the pool.
 */
export class DerivationGate {
  readonly maxConcurrent: number
  readonly maxQueued: number
  /** Derivations started (for tests and metrics). */
  derivations = 0
  /** The most that ever ran at once. */
  peak = 0
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(options: DerivationGateOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? 2
    this.maxQueued = options.maxQueued ?? 32
    if (!Number.isSafeInteger(this.maxConcurrent) || this.maxConcurrent < 1) {
      throw new AuditedError('validation', 'maxConcurrent must be a positive integer.')
    }
    if (!Number.isSafeInteger(this.maxQueued) || this.maxQueued < 0) {
      throw new AuditedError('validation', 'maxQueued must be a non-negative integer.')
    }
  }

  async run<T>(derive: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueued) {
        throw new AuditedError('rate_limited', 'Too many logins at once; try again shortly.', {
          details: { reason: 'login_busy' },
          retryAfterSeconds: 1,
        })
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    }
    // A released slot is handed over directly (see `finally`), so `active` is already ours.
    else this.active += 1
    this.peak = Math.max(this.peak, this.active)
    this.derivations += 1
    try {
      return await derive()
    } finally {
      const next = this.waiting.shift()
      if (next === undefined) this.active -= 1
      else next()
    }
  }
}
