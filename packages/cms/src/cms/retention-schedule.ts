import type { NoteSigner } from 'audited'
import type { CmsStore } from './caller.js'
import { repeatAfterEach } from './repeat.js'
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
  return repeatAfterEach({
    firstMs: options.intervalMs,
    intervalMs: options.intervalMs,
    onError: options.onError,
    job: async (signal) => {
      options.onRun?.(
        await runRetention({
          store: options.store,
          signer: options.signer,
          archiveDir: options.archiveDir,
          signal,
        }),
      )
    },
  })
}
