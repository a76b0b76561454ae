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

/**
 * One lock may guard several connections to one SQLite file in one process (see
 * sqlite-file-locks.ts): a waiter then also names its connection (`owner`), and a group may
 * hand its open transaction over only to a waiter of its own connection.
 */
export class WriterLock {
  #held = false
  readonly #waiters: { kind: WaiterKind; owner: object | undefined; wake: () => void }[] = []

  get held(): boolean {
    return this.#held
  }

  get waiting(): number {
    return this.#waiters.length
  }

  /** The kind of the next waiter as `owner` sees it: another connection's transaction is
   * `other` to it (it must find the file outside `owner`'s transaction). */
  nextFor(owner: object): WaiterKind | undefined {
    const next = this.#waiters[0]
    if (next === undefined) return undefined
    return next.owner === owner ? next.kind : 'other'
  }

  /** Takes the lock if it is free, synchronously. */
  tryTake(): boolean {
    if (this.#held) return false
    this.#held = true
    return true
  }

  /** Waits for the lock; resolves when it is this caller's. A `stop` signal that aborts
   * first takes the caller out of the queue and rejects with the signal's reason. */
  take(kind: WaiterKind = 'other', stop?: AbortSignal, owner?: object): Promise<void> {
    if (this.tryTake()) return Promise.resolve()
    if (stop?.aborted) return Promise.reject(stop.reason)
    return new Promise((resolve, reject) => {
      const waiter = {
        kind,
        owner,
        wake: () => {
          stop?.removeEventListener('abort', leave)
          resolve()
        },
      }
      const leave = () => {
        const at = this.#waiters.indexOf(waiter)
        if (at >= 0) this.#waiters.splice(at, 1)
        reject(stop?.reason)
      }
      stop?.addEventListener('abort', leave, { once: true })
      this.#waiters.push(waiter)
    })
  }

  /** Hands the lock to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiters.shift()
    if (next === undefined) this.#held = false
    else next.wake()
  }
}
