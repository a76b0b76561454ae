import { AuditedError } from '../core/errors.js'

/** Why a wait for a connection ended early (the `take` function may stop waiting). */
export interface WaitOptions {
  /** The caller's abort (`ctx.signal`): the wait ends at once with reason `aborted`. */
  readonly signal?: AbortSignal | undefined
}

export function poolExhaustedError(timeoutMs: number): AuditedError {
  return new AuditedError('unavailable', 'No database connection became free in time.', {
    details: { reason: 'pool_exhausted', waitedMs: timeoutMs },
    retryAfterSeconds: 1,
  })
}

export function abortedError(signal: AbortSignal): AuditedError {
  return new AuditedError('unavailable', 'The operation was aborted and rolled back.', {
    details: { reason: 'aborted' },
    cause: signal.reason,
  })
}

/**
 * Waits for a resource (a connection, the SQLite writer) at most `timeoutMs`, and not at
 * all once `options.signal` aborts. On a timeout the caller gets a retryable `unavailable`
 * (reason `pool_exhausted`), on an abort reason `aborted`, both at once; `take` gets a
 * signal that aborts then, so it can leave its queue, and a resource that arrives later
 * is handed straight back with `giveBack`, so an abandoned wait never leaks one.
 */
export function waitBounded<T>(
  take: (stop: AbortSignal) => Promise<T>,
  giveBack: (late: T) => void,
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<T> {
  const { signal } = options
  if (signal?.aborted) return Promise.reject(abortedError(signal))
  return new Promise<T>((resolve, reject) => {
    const stop = new AbortController()
    let settled = false
    const end = (error: AuditedError) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      stop.abort(error)
      reject(error)
    }
    const onAbort = () => end(abortedError(signal!))
    const timer = setTimeout(() => end(poolExhaustedError(timeoutMs)), timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    take(stop.signal).then(
      (resource) => {
        if (settled) return giveBack(resource)
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(resource)
      },
      (error: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/** `waitBounded` for a `Lease` (released when it arrives too late). */
export function acquireWithTimeout<L extends { release(destroy?: boolean): void }>(
  take: (stop: AbortSignal) => Promise<L>,
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<L> {
  return waitBounded(take, (late) => late.release(), timeoutMs, options)
}
