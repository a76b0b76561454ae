/** A job that repeats until stopped (see `repeatAfterEach`). */
export interface Repeating {
  /** Stops the timer and waits for a run in progress (which sees its signal aborted). */
  stop(): Promise<void>
}

/**
 * Runs `job` after `firstMs`, then `intervalMs` after each run ends: runs never overlap. The
 * timer is unref'd (it never keeps the process alive); a failure goes to `onError` and the
 * schedule carries on. `job` gets a signal that aborts on `stop`.
 */
export function repeatAfterEach(options: {
  firstMs: number
  intervalMs: number
  job: (signal: AbortSignal) => Promise<void>
  onError?: ((error: unknown) => void) | undefined
}): Repeating {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  const once = async () => {
    try {
      await options.job(controller.signal)
    } catch (error) {
      try {
        options.onError?.(error)
      } catch {
        // a failing error reporter must not stop the schedule
      }
    } finally {
      running = undefined
      if (!controller.signal.aborted) schedule(options.intervalMs)
    }
  }
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      timer = undefined
      running = once()
    }, ms)
    timer.unref()
  }
  schedule(options.firstMs)
  return {
    async stop() {
      controller.abort()
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await running
    },
  }
}
