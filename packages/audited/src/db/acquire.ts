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
 *
 * `take` returns whether it queued (`queued: false`: it is opening a new connection, which
 * the driver's own connect timeout bounds; only waiting for a busy pool is `pool_exhausted`).
 */
export function waitBounded<T>(
  take: (stop: AbortSignal) => { readonly resource: Promise<T>; readonly queued: boolean },
  giveBack: (late: T) => void,
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<T> {
  const { signal } = options
  if (signal?.aborted) return Promise.reject(abortedError(signal))
  return new Promise<T>((resolve, reject) => {
    const stop = new AbortController()
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const done = () => {
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const end = (error: AuditedError) => {
      if (settled) return
      done()
      stop.abort(error)
      reject(error)
    }
    const onAbort = () => end(abortedError(signal!))
    signal?.addEventListener('abort', onAbort, { once: true })
    const { resource, queued } = take(stop.signal)
    if (queued) timer = setTimeout(() => end(poolExhaustedError(timeoutMs)), timeoutMs)
    resource.then(
      (r) => {
        if (settled) return giveBack(r)
        done()
        resolve(r)
      },
      (error: unknown) => {
        if (settled) return
        done()
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
  return waitBounded(
    (stop) => ({ resource: take(stop), queued: true }),
    (late) => late.release(),
    timeoutMs,
    options,
  )
}
