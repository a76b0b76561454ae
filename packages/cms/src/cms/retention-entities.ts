import { defineEntity } from 'audited'

/**
 * Retention's CMS resources (README "Retention, archive and legal hold"), audited as every
 * other table: a tenant's policy, its legal holds, and the record of each retention run
 * that purged something (written with action `purge`, naming the run's manifests).
 */
const stampColumns = { created_at: 'timestamp', updated_at: 'timestamp' } as const

/** How long a table's events are kept, overriding the tenant's `keepDays`. */
export interface TableRetention {
  keepDays: number
}

/** One per tenant; its `id` is the tenant's id. */
export interface RetentionPolicyRow {
  id: string
  tenant_id: string
  keep_days: number
  archive: boolean
  tables: Record<string, TableRetention>
  version: number
  created_at: Date
  updated_at: Date
}
export const retentionPolicies = defineEntity<RetentionPolicyRow>({
  table: 'retention_policies',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
  columns: { ...stampColumns, archive: 'boolean', tables: 'json' },
})

export type HoldScope = 'tenant' | 'record' | 'actor'
export const HOLD_SCOPES: readonly HoldScope[] = ['tenant', 'record', 'actor']

export interface LegalHoldRow {
  id: string
  tenant_id: string
  scope: HoldScope
  table_name: string | null
  record_id: string | null
  actor_id: string | null
  reason: string
  version: number
  created_at: Date
  updated_at: Date
}
export const legalHolds = defineEntity<LegalHoldRow>({
  table: 'legal_holds',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
  columns: stampColumns,
})

/** A segment a run wrote, as its purge event names it. */
export interface RunSegment {
  segmentId: string
  leaves: [number, number]
  count: number
  purged: number
  /** Relative to ARCHIVE_DIR; null when the policy does not archive. */
  file: string | null
  manifest: string | null
  sha256: string | null
  root: string
  checkpointSize: number
}

export interface RetentionRunRow {
  id: string
  tenant_id: string
  keep_days: number
  archive: boolean
  purged: number
  held: number
  refused: number
  segments: RunSegment[]
  /** The first events refused (their recomputed leaf differs from the stored one). */
  refused_events: { eventId: string; leafIndex: number }[]
  started_at: Date
  finished_at: Date
  version: number
  created_at: Date
  updated_at: Date
}
export const retentionRuns = defineEntity<RetentionRunRow>({
  table: 'retention_runs',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
  columns: {
    ...stampColumns,
    archive: 'boolean',
    segments: 'json',
    refused_events: 'json',
    started_at: 'timestamp',
    finished_at: 'timestamp',
  },
})

/** Retention's tables, by name (part of CMS_ENTITIES). */
export const RETENTION_ENTITIES = {
  retention_policies: retentionPolicies,
  legal_holds: legalHolds,
  retention_runs: retentionRuns,
}
