/**
 * A FIFO lock: one holder at a time, waiters served in arrival order. SQLite's single
 * connection is guarded by one, shared by the engine and by Kysely, so no query can slip
 * into another caller's open transaction.
 */
export class WriterLock {
  #held = false
  readonly #waiters: (() => void)[] = []

  get held(): boolean {
    return this.#held
  }

  get waiting(): number {
    return this.#waiters.length
  }

  /** Takes the lock if it is free, synchronously. */
  tryTake(): boolean {
    if (this.#held) return false
    this.#held = true
    return true
  }

  /** Waits for the lock; resolves when it is this caller's. */
  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** Hands the lock to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiters.shift()
    if (next === undefined) this.#held = false
    else next()
  }
}
