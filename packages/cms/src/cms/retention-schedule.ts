import type { NoteSigner } from 'audited'
import type { CmsStore } from './caller.js'
import { runRetention, type TenantRetention } from './retention-run.js'

export interface RetentionSchedule {
  /** Stops the timer and waits for a run in progress (which stops after its batch). */
  stop(): Promise<void>
}

/**
 * Runs retention `intervalMs` after the server starts and then `intervalMs` after each run
 * ends (runs never overlap). The timer is unref'd; failures go to `onError` and the
 * schedule carries on.
 */
export function scheduleRetention(options: {
  store: CmsStore
  signer: NoteSigner
  archiveDir: string
  intervalMs: number
  onRun?: (results: TenantRetention[]) => void
  onError?: (error: unknown) => void
}): RetentionSchedule {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  const once = async () => {
    try {
      options.onRun?.(
        await runRetention({
          store: options.store,
          signer: options.signer,
          archiveDir: options.archiveDir,
          signal: controller.signal,
        }),
      )
    } catch (error) {
      try {
        options.onError?.(error)
      } catch {
        // a failing error reporter must not stop the schedule
      }
    } finally {
      running = undefined
      if (!controller.signal.aborted) schedule()
    }
  }
  const schedule = () => {
    timer = setTimeout(() => {
      timer = undefined
      running = once()
    }, options.intervalMs)
    timer.unref()
  }
  schedule()
  return {
    async stop() {
      controller.abort()
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await running
    },
  }
}
