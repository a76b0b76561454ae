import { isAuditedError } from '../core/errors.js'
import type { Dialect, Lease } from './dialect.js'

/**
 * What one database call says about the database: it `answered` (with rows or with an
 * error of its own — a constraint, a lock wait, a statement timeout: contention, not a
 * fault), or it is `unreachable` (the connection failed or was lost). Waits that never
 * reached the database (a full pool, an abort) say nothing.
 */
export type DatabaseOutcome = 'answered' | 'unreachable'

/** The `details.reason` dialects give a connection that failed or was lost. */
export const UNREACHABLE = 'unreachable'

export type HealthListener = (outcome: DatabaseOutcome) => void

/**
 * Reports the outcome of every call the database's users make — the engine's sessions
 * and both Kysely instances — to whoever listens (the server's circuit breaker), so that
 * health is judged where database calls succeed or fail, not per HTTP response.
 */
export class DatabaseHealth {
  readonly #listeners = new Set<HealthListener>()
  #classify: Dialect['classify'] = () => undefined

  /** The dialect's classifier, once the dialect exists. */
  bind(classify: Dialect['classify']): void {
    this.#classify = classify
  }

  /** Calls `listener` with every outcome from now on; returns the unsubscribe function. */
  subscribe(listener: HealthListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** A call returned (no error) or failed with `error`. */
  observe(error?: unknown): void {
    if (this.#listeners.size === 0) return
    const outcome = error === undefined ? 'answered' : this.#judge(error)
    if (outcome === undefined) return
    for (const listener of this.#listeners) listener(outcome)
  }

  #judge(error: unknown): DatabaseOutcome | undefined {
    const e = isAuditedError(error) ? error : this.#classify(error)
    if (e !== undefined && e.code === 'unavailable' && e.details?.reason === UNREACHABLE) return 'unreachable'
    // Our own waits (pool_exhausted, aborted, timeout) never got an answer either way.
    if (isAuditedError(error)) return undefined
    return 'answered'
  }
}

/** The engine's view of `dialect` with every session's statements (and every connection
 * that could not be made) reported to `health`. */
export function observeDialect(dialect: Dialect, health: DatabaseHealth): Dialect {
  return {
    ...dialect,
    acquire: async (timeoutMs, wait) => {
      let lease: Lease
      try {
        lease = await dialect.acquire(timeoutMs, wait)
      } catch (error) {
        health.observe(error)
        throw error
      }
      const { session } = lease
      return {
        release: (destroy) => lease.release(destroy),
        session: {
          run: async (statements) => {
            try {
              const results = await session.run(statements)
              health.observe()
              return results
            } catch (error) {
              health.observe(error)
              throw error
            }
          },
        },
      }
    },
  }
}
