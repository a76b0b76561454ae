/**
 * Retention's settings (README "Retention, archive and legal hold"): RETENTION_INTERVAL_MS
 * (how often `serve` runs retention; 0, the default, never) and ARCHIVE_DIR (where segments
 * go, default `./data/archive`). The manifests are signed with the checkpoint signing key.
 */
import { AuditedError, type NoteSigner } from 'audited'
import type { FastifyBaseLogger } from 'fastify'
import type { CmsStore } from '../cms/caller.js'
import { type RetentionSchedule, scheduleRetention } from '../cms/retention-schedule.js'
import { loggedError } from './log-lines.js'

export interface RetentionSettings {
  /** 0: the server never runs retention (the CLI still can). */
  readonly intervalMs: number
  readonly archiveDir: string
}

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2_147_483_647

export function retentionSettings(env: NodeJS.ProcessEnv): RetentionSettings {
  const raw = env.RETENTION_INTERVAL_MS
  let intervalMs = 0
  if (raw !== undefined && raw !== '') {
    intervalMs = Number(raw)
    if (
      !Number.isInteger(intervalMs) ||
      (intervalMs !== 0 && (intervalMs < 1000 || intervalMs > MAX_TIMER_MS))
    )
      throw new AuditedError(
        'validation',
        `RETENTION_INTERVAL_MS must be 0 (off) or an integer from 1000 to ${MAX_TIMER_MS} (milliseconds).`,
        { details: { name: 'RETENTION_INTERVAL_MS' } },
      )
  }
  return { intervalMs, archiveDir: env.ARCHIVE_DIR || './data/archive' }
}

/** The server's schedule (undefined when RETENTION_INTERVAL_MS is 0): each run's outcome
 * per tenant is logged; a refused event (it no longer hashes to its leaf) is a warning. */
export function startRetention(
  settings: RetentionSettings,
  signer: NoteSigner | undefined,
  store: CmsStore,
  log: FastifyBaseLogger,
): RetentionSchedule | undefined {
  if (settings.intervalMs === 0 || signer === undefined) return undefined
  return scheduleRetention({
    store,
    signer,
    archiveDir: settings.archiveDir,
    intervalMs: settings.intervalMs,
    onRun: (results) => {
      for (const r of results) {
        const report = r.report
        if (report === null || (report.purged === 0 && report.refusedCount === 0)) continue
        const facts = {
          tenantId: r.tenantId,
          purged: report.purged,
          held: report.held,
          refused: report.refusedCount,
          segments: report.segments.map((s) => s.segmentId),
          runId: r.runId,
        }
        if (report.refusedCount > 0)
          log.warn(facts, 'retention run refused events that changed after sealing')
        else log.info(facts, 'retention run')
      }
    },
    onError: (err) => log.warn({ err: loggedError(err) }, 'retention run failed'),
  })
}
