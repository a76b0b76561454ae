/**
 * A retention run (`audited retention run`, and the server every RETENTION_INTERVAL_MS):
 * for each tenant with a policy, the events older than its `keepDays` (a table's own
 * `keepDays` first) are archived to ARCHIVE_DIR when the policy archives, then purged, by
 * the library's `purgeExpired` — only sealed events a checkpoint covers, never a held one.
 * Each run that purged or refused something writes one `retention_runs` record with action
 * `purge` (actor `system`), naming its segments and manifests.
 */
import { type NoteSigner, type PurgeProgress, type PurgeReport, purgeExpired } from 'audited'
import { type CmsStore, systemCaller } from './caller.js'
import { created, newRecordId } from './records.js'
import { type RunSegment, retentionRuns } from './retention-entities.js'
import { holdsOf, isHeld, type RetentionPolicy, readPolicy } from './retention-operations.js'

const DAY_MS = 86_400_000

export interface RetentionRunOptions {
  readonly store: CmsStore
  /** Signs the segments' manifests: the checkpoint signing key. */
  readonly signer: NoteSigner
  /** ARCHIVE_DIR. */
  readonly archiveDir: string
  /** Only this tenant (default: every tenant with a policy). */
  readonly tenantId?: string
  /** Counts what would be purged; writes nothing. */
  readonly dryRun?: boolean
  /** "Now" for the cutoffs (default: the run's start). */
  readonly now?: Date
  /** Events per purge transaction (default 500). */
  readonly batchSize?: number
  readonly onProgress?: (tenantId: string, p: PurgeProgress) => void
  readonly signal?: AbortSignal
}

export interface TenantRetention {
  readonly tenantId: string
  /** null: the tenant has no policy, nothing is purged. */
  readonly policy: RetentionPolicy | null
  /** A tenant-wide legal hold: nothing of the tenant was purged. */
  readonly tenantHeld: boolean
  readonly report: PurgeReport | null
  /** The `retention_runs` record of this run (null: nothing purged or refused, or dry). */
  readonly runId: string | null
}

/** The oldest wall time each table keeps: an event older than its table's cutoff is due. */
export function cutoffs(
  policy: RetentionPolicy,
  now: Date,
): { before: Date; due: (table: string) => number } {
  const at = (days: number) => now.getTime() - days * DAY_MS
  const days = [policy.keepDays, ...Object.values(policy.tables).map((t) => t.keepDays)]
  return {
    before: new Date(at(Math.min(...days))),
    due: (table) =>
      at(Object.hasOwn(policy.tables, table) ? policy.tables[table]!.keepDays : policy.keepDays),
  }
}

async function tenantsWithPolicy(store: CmsStore): Promise<string[]> {
  const rows = await store.db.kysely
    .selectFrom('retention_policies')
    .select('tenant_id')
    .orderBy('tenant_id')
    .execute()
  return rows.map((r) => String(r.tenant_id))
}

/** Runs retention for every tenant with a policy (or one); one result per tenant. */
export async function runRetention(o: RetentionRunOptions): Promise<TenantRetention[]> {
  const now = o.now ?? new Date()
  const tenants = o.tenantId === undefined ? await tenantsWithPolicy(o.store) : [o.tenantId]
  const out: TenantRetention[] = []
  for (const tenantId of tenants) {
    if (o.signal?.aborted) break
    out.push(await runTenant(o, tenantId, now))
  }
  return out
}

async function runTenant(o: RetentionRunOptions, tenantId: string, now: Date): Promise<TenantRetention> {
  const policy = (await readPolicy(o.store, tenantId)) ?? null
  if (policy === null) return { tenantId, policy, tenantHeld: false, report: null, runId: null }
  if ((await holdsOf(o.store, tenantId)).some((h) => h.scope === 'tenant'))
    return { tenantId, policy, tenantHeld: true, report: null, runId: null }
  const { before, due } = cutoffs(policy, now)
  const startedAt = new Date()
  const report = await purgeExpired({
    db: o.store.db,
    auditor: o.store.auditor,
    signer: o.signer,
    tenantId,
    before,
    due: (e) => Date.parse(e.wallTime) < due(e.table),
    holds: async () => {
      const holds = await holdsOf(o.store, tenantId)
      return (e) => isHeld(holds, e)
    },
    ...(policy.archive ? { archiveDir: o.archiveDir } : {}),
    ...(o.dryRun ? { dryRun: true } : {}),
    ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
    ...(o.onProgress === undefined ? {} : { onProgress: (p: PurgeProgress) => o.onProgress?.(tenantId, p) }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  })
  let runId: string | null = null
  if (!report.dryRun && (report.purged > 0 || report.refusedCount > 0)) {
    runId = newRecordId()
    const segments: RunSegment[] = report.segments.map((s) => ({
      segmentId: s.segmentId,
      leaves: [s.first, s.last],
      count: s.count,
      purged: s.purged,
      file: s.file,
      manifest: s.manifest,
      sha256: s.sha256,
      root: s.root,
      checkpointSize: s.checkpointSize,
    }))
    const caller = systemCaller(
      tenantId,
      'retention',
      `retention run: events older than ${before.toISOString()}`,
    )
    await o.store.auditor.create(
      retentionRuns,
      created({
        id: runId,
        keep_days: policy.keepDays,
        archive: policy.archive,
        purged: report.purged,
        held: report.held,
        refused: report.refusedCount,
        segments,
        refused_events: report.refused.map((r) => ({ eventId: r.eventId, leafIndex: r.leafIndex })),
        started_at: startedAt,
        finished_at: new Date(),
      }),
      caller.ctx,
      { action: 'purge' },
    )
  }
  if (report.stopped !== undefined) throw report.stopped
  return { tenantId, policy, tenantHeld: false, report, runId }
}
