/**
 * A FIFO lock: one holder at a time, waiters served in arrival order. SQLite's single
 * connection is guarded by one, shared by the engine and by Kysely, so no query can slip
 * into another caller's open transaction.
 *
 * Each waiter says what it is: an engine `transaction` may join a commit group (see
 * sqlite-group-commit.ts); anything else (a Kysely query or transaction) must find the
 * connection outside any transaction.
 */
export type WaiterKind = 'transaction' | 'other'

export class WriterLock {
  #held = false
  readonly #waiters: { kind: WaiterKind; wake: () => void }[] = []

  get held(): boolean {
    return this.#held
  }

  get waiting(): number {
    return this.#waiters.length
  }

  /** The kind of the next waiter, if any. */
  get next(): WaiterKind | undefined {
    return this.#waiters[0]?.kind
  }

  /** Takes the lock if it is free, synchronously. */
  tryTake(): boolean {
    if (this.#held) return false
    this.#held = true
    return true
  }

  /** Waits for the lock; resolves when it is this caller's. */
  take(kind: WaiterKind = 'other'): Promise<void> {
    if (this.tryTake()) return Promise.resolve()
    return new Promise((wake) => this.#waiters.push({ kind, wake }))
  }

  /** Hands the lock to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiters.shift()
    if (next === undefined) this.#held = false
    else next.wake()
  }
}
