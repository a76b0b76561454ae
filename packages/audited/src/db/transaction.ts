import { AuditedError, isAuditedError, toAuditedError } from '../core/errors.js'
import { abortedError } from './acquire.js'
import type { Dialect, Lease, Statement, StatementResult } from './dialect.js'

export interface TransactionOptions {
  /** The whole call, from waiting for a connection to COMMIT (ms). */
  readonly timeoutMs: number
  /** Longest wait for a connection (ms); capped by what is left of `timeoutMs`. */
  readonly acquireTimeoutMs: number
  readonly signal?: AbortSignal | undefined
  /** How often a deadlock or serialization failure re-runs the whole transaction. */
  readonly retries?: number
  /** Statements sent right after BEGIN, in the same request (see `beginStatements`). */
  readonly afterBegin?: readonly Statement[]
}

/** BEGIN, then `afterBegin` (e.g. a relaxed transaction's `SET LOCAL`). */
function beginStatements(dialect: Dialect, afterBegin: readonly Statement[] = []): readonly Statement[] {
  return [{ sql: dialect.beginSql, parameters: [] }, ...afterBegin]
}

/**
 * One open write transaction on one connection. `BEGIN` travels with the first
 * statements and `COMMIT` with the last, so a short audited write costs two round trips.
 *
 * Once stopped (timeout or abort) every further `run` throws, and the transaction is
 * rolled back and its connection returned as soon as no statement is in flight — even if
 * the caller's code never returns.
 */
export class Transaction {
  readonly #dialect: Dialect
  readonly #lease: Lease
  readonly #begin: readonly Statement[]
  #begun = false
  #inFlight = false
  #state: 'open' | 'committing' | 'done' = 'open'
  #stopped: AuditedError | undefined
  #released = false
  #sent = 0
  readonly #onClose: (() => void)[] = []

  constructor(dialect: Dialect, lease: Lease, afterBegin?: readonly Statement[]) {
    this.#dialect = dialect
    this.#lease = lease
    this.#begin = beginStatements(dialect, afterBegin)
  }

  get dialect(): Dialect {
    return this.#dialect
  }

  /** How many requests this transaction has sent (a failed step that sent none left no trace). */
  get sent(): number {
    return this.#sent
  }

  /** Runs once the transaction is over (committed, rolled back or stopped) and its
   * connection returned — even if the caller's code never returns. */
  onClose(callback: () => void): void {
    this.#onClose.push(callback)
  }

  /** Runs statements inside the transaction, opening it first if needed. `readOnly`
   * requests (catalogue lookups) do not count in `sent`. */
  async run(
    statements: readonly Statement[],
    options: { readOnly?: boolean } = {},
  ): Promise<StatementResult[]> {
    this.#assertUsable()
    if (options.readOnly !== true) this.#sent += 1
    if (this.#begun) return this.#send(statements)
    this.#begun = true
    try {
      return (await this.#send([...this.#begin, ...statements])).slice(this.#begin.length)
    } catch (e) {
      // Whether BEGIN itself took effect is unknown (it travels with the statements): no
      // later statement may run, since it might run outside any transaction.
      this.#stopped ??= isAuditedError(e) ? e : toAuditedError(e)
      throw e
    }
  }

  /** Runs the last statements and COMMIT in one round trip. */
  async commit(statements: readonly Statement[] = []): Promise<StatementResult[]> {
    this.#assertUsable()
    if (!this.#begun && statements.length === 0) {
      this.#state = 'done'
      return []
    }
    const list = [...(this.#begun ? [] : this.#begin), ...statements, { sql: 'COMMIT', parameters: [] }]
    const skip = this.#begun ? 0 : this.#begin.length
    this.#begun = true
    this.#sent += 1
    this.#state = 'committing'
    const results = await this.#send(list)
    this.#state = 'done'
    return results.slice(skip, results.length - 1)
  }

  get finished(): boolean {
    return this.#state === 'done'
  }

  get committing(): boolean {
    return this.#state === 'committing'
  }

  /** Stops the transaction: the error every later call gets; rollback as soon as idle. */
  stop(error: AuditedError): void {
    if (this.#state !== 'open' || this.#stopped) return
    this.#stopped = error
    if (!this.#inFlight) void this.close()
  }

  /** Rolls back if still open and returns the connection (idempotent). */
  async close(): Promise<void> {
    if (this.#released) return
    this.#released = true
    let destroy = false
    if (this.#begun && this.#state !== 'done') {
      this.#state = 'done'
      try {
        await this.#lease.session.run([{ sql: 'ROLLBACK', parameters: [] }])
      } catch {
        destroy = true // a connection that cannot roll back must not be reused
      }
    }
    this.#state = 'done'
    this.#lease.release(destroy)
    for (const callback of this.#onClose.splice(0)) callback()
  }

  #assertUsable(): void {
    if (this.#stopped) throw this.#stopped
    if (this.#state !== 'open') throw new AuditedError('internal', 'The transaction is already finished.')
  }

  async #send(list: readonly Statement[]): Promise<StatementResult[]> {
    this.#inFlight = true
    try {
      return await this.#lease.session.run(list)
    } catch (e) {
      if (this.#state === 'committing') this.#state = 'open' // COMMIT never ran; roll back
      throw this.#dialect.classify(e) ?? toAuditedError(e)
    } finally {
      this.#inFlight = false
      if (this.#stopped) {
        await this.close()
        // biome-ignore lint/correctness/noUnsafeFinally: a stopped transaction must not report success.
        throw this.#stopped
      }
    }
  }
}

/**
 * Runs `fn` in one transaction on one connection with bounded waiting: the connection wait,
 * the statements, the caller's code and COMMIT all fit in `timeoutMs`, and `signal`
 * stops it at any point before COMMIT. On any failure the transaction is rolled back and
 * its connection returned. Deadlocks and serialization failures re-run `fn` (default once).
 */
export async function runTransaction<T>(
  dialect: Dialect,
  options: TransactionOptions,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  const retries = options.retries ?? 1
  for (let attempt = 0; ; attempt++) {
    try {
      return await runOnce(dialect, options, deadline, fn)
    } catch (e) {
      const retry =
        attempt < retries &&
        isAuditedError(e) &&
        dialect.isRetryableTransactionError(e.cause) &&
        Date.now() < deadline
      if (!retry) throw e
    }
  }
}

function timeoutError(ms: number): AuditedError {
  return new AuditedError('unavailable', 'The operation took too long and was rolled back.', {
    details: { reason: 'timeout', timeoutMs: ms },
    retryAfterSeconds: 1,
  })
}

const abortError = abortedError

async function runOnce<T>(
  dialect: Dialect,
  options: TransactionOptions,
  deadline: number,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const { signal } = options
  if (signal?.aborted) throw abortError(signal)
  const remaining = deadline - Date.now()
  if (remaining <= 0) throw timeoutError(options.timeoutMs)
  // The wait for a connection ends at once on abort (the lease, if it comes, goes back).
  const lease = await dialect
    .acquire(Math.min(options.acquireTimeoutMs, remaining), { signal })
    .catch((e) => {
      // Cut short by the operation's own deadline, not by the acquire timeout: that is its
      // `timeout`, whatever it waited for (on SQLite the writer is the one connection).
      if (remaining < options.acquireTimeoutMs && isAuditedError(e) && e.details?.reason === 'pool_exhausted')
        throw timeoutError(options.timeoutMs)
      throw e
    })
  if (signal?.aborted) {
    lease.release()
    throw abortError(signal) // aborted while waiting for the connection
  }
  const tx = new Transaction(dialect, lease, options.afterBegin)
  return new Promise<T>((resolve, reject) => {
    const stop = (error: AuditedError) => {
      if (tx.committing || tx.finished) return // COMMIT is on its way: its answer decides
      tx.stop(error)
      reject(error)
    }
    const timer = setTimeout(() => stop(timeoutError(options.timeoutMs)), Math.max(0, deadline - Date.now()))
    const onAbort = () => stop(abortError(signal!))
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) onAbort()
    const work = (async () => {
      try {
        const result = await fn(tx)
        if (!tx.finished) await tx.commit()
        return result
      } finally {
        await tx.close()
      }
    })()
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    })
  })
}
