import type { AuditContext, AuditedDatabase, Auditor } from 'audited'
import { AuditedError, isAuditedError } from 'audited'
import { tokens } from './entities.js'
import { repeatAfterEach } from './repeat.js'

/** Why a purged session's delete event exists (its `reason`; the action is `delete`). */
export const SESSION_EXPIRED_REASON = 'session expired'

export interface PurgeOptions {
  /** Sessions that expired before this instant are purged (default: now, read once). */
  readonly now?: Date
  /** Sessions per transaction (default 100). */
  readonly batchSize?: number
  /** Checked between batches: an aborted purge stops after its current batch. */
  readonly signal?: AbortSignal
}

/**
 * Deletes expired login sessions (`tokens` of kind `session` whose `expires_at` has
 * passed) through the auditor: one audited `delete` event each, actor `system`, reason
 * "session expired". Works in batches of `batchSize` sessions, one transaction per tenant
 * and batch, until none is left; returns how many it deleted. API tokens (no expiry) and
 * sessions still valid are never touched.
 *
 * Safe next to concurrent writers and other purges: a session that disappears between the
 * read and the delete (revoked by a user change, or purged by another process) is skipped.
 */
export async function purgeExpiredSessions(
  db: AuditedDatabase,
  auditor: Auditor,
  options: PurgeOptions = {},
): Promise<number> {
  const now = options.now ?? new Date()
  const batchSize = options.batchSize ?? 100
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new AuditedError('validation', 'batchSize must be a positive integer.')
  }
  const cutoff = db.capabilities.toParameter(now) as Date | string
  let purged = 0
  while (options.signal?.aborted !== true) {
    const rows = await db.readKysely
      .selectFrom('tokens')
      .select(['id', 'tenant_id'])
      .where('kind', '=', 'session')
      .where('expires_at', 'is not', null)
      .where('expires_at', '<', cutoff)
      .orderBy('id')
      .limit(batchSize)
      .execute()
    if (rows.length === 0) break
    const byTenant = new Map<string, string[]>()
    for (const row of rows) {
      const tenantId = String(row.tenant_id)
      const ids = byTenant.get(tenantId)
      if (ids === undefined) byTenant.set(tenantId, [String(row.id)])
      else ids.push(String(row.id))
    }
    for (const [tenantId, ids] of byTenant) purged += await deleteSessions(auditor, tenantId, ids)
  }
  return purged
}

async function deleteSessions(auditor: Auditor, tenantId: string, ids: readonly string[]): Promise<number> {
  const ctx: AuditContext = {
    tenantId,
    actorId: 'system',
    actorType: 'system',
    reason: SESSION_EXPIRED_REASON,
  }
  try {
    await auditor.transaction(ctx, async (tx) => {
      for (const id of ids) await tx.delete(tokens, id)
    })
    return ids.length
  } catch (e) {
    if (!isAuditedError(e) || e.code !== 'not_found') throw e
  }
  // One of them went away since it was read; the transaction rolled back. One by one,
  // skipping those that are gone.
  let deleted = 0
  for (const id of ids) {
    try {
      await auditor.delete(tokens, id, ctx)
      deleted += 1
    } catch (e) {
      if (!isAuditedError(e) || e.code !== 'not_found') throw e
    }
  }
  return deleted
}

export interface SessionPurgeSchedule {
  /** Stops the timer and waits for a purge in progress (which stops after its batch). */
  stop(): Promise<void>
}

/**
 * Runs `purgeExpiredSessions` once now and then `intervalMs` after each run ends (runs never
 * overlap). The timer is unref'd: it never keeps the process alive. Failures go to
 * `onError` and the schedule carries on.
 */
export function scheduleSessionPurge(options: {
  db: AuditedDatabase
  auditor: Auditor
  intervalMs: number
  onPurged?: (count: number) => void
  onError?: (error: unknown) => void
}): SessionPurgeSchedule {
  const { db, auditor, intervalMs } = options
  return repeatAfterEach({
    firstMs: 0,
    intervalMs,
    onError: options.onError,
    job: async (signal) => {
      options.onPurged?.(await purgeExpiredSessions(db, auditor, { signal }))
    },
  })
}
