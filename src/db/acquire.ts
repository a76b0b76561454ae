import { AuditedError } from '../core/errors.js'
import type { Lease } from './dialect.js'

/**
 * Waits for a connection at most `timeoutMs`. When the wait times out the caller gets a
 * retryable `unavailable` at once; a connection that arrives later is handed straight
 * back, so a timed-out wait never leaks one.
 */
export function acquireWithTimeout(take: () => Promise<Lease>, timeoutMs: number): Promise<Lease> {
  return new Promise<Lease>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      reject(
        new AuditedError('unavailable', 'No database connection became free in time.', {
          details: { reason: 'pool_exhausted', waitedMs: timeoutMs },
          retryAfterSeconds: 1,
        }),
      )
    }, timeoutMs)
    take().then(
      (lease) => {
        if (settled) return lease.release()
        settled = true
        clearTimeout(timer)
        resolve(lease)
      },
      (error: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
