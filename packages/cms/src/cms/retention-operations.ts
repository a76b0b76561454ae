/**
 * Retention policies and legal holds: every write of these tables goes through these
 * operations (audited as any write). A policy is one per tenant (its id is the tenant's);
 * without one nothing is ever purged. A hold keeps what it covers — the whole tenant, one
 * record (table + id), or one actor's events — from being purged or erased.
 */
import { AuditedError, type ChangeEvent, decodeRow, type Entity } from 'audited'
import { type Caller, type CmsStore, restoring } from './caller.js'
import { created, newRecordId, touched } from './records.js'
import {
  HOLD_SCOPES,
  type HoldScope,
  type LegalHoldRow,
  legalHolds,
  type RetentionPolicyRow,
  retentionPolicies,
  type TableRetention,
} from './retention-entities.js'

/** A policy as the API shows it. */
export interface RetentionPolicy {
  readonly keepDays: number
  readonly archive: boolean
  readonly tables: Record<string, TableRetention>
}

export const MAX_KEEP_DAYS = 36_500
/** A table name as an event records it (`table` of a change event). */
export const TABLE_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,127}$'
const TABLE_RE = new RegExp(TABLE_NAME)
export const MAX_POLICY_TABLES = 100

const invalid = (message: string, field: string) =>
  new AuditedError('validation', message, { details: { field } })

const isKeepDays = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_KEEP_DAYS
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** A policy body, checked (the route's schema says the same; the CLI and tests call this). */
export function checkPolicy(body: unknown): RetentionPolicy {
  if (!isObject(body)) throw invalid('The body is { keepDays, archive?, tables? }.', 'body')
  for (const key of Object.keys(body))
    if (!['keepDays', 'archive', 'tables'].includes(key)) throw invalid(`Unknown field "${key}".`, key)
  if (!isKeepDays(body.keepDays))
    throw invalid(`keepDays must be an integer from 0 to ${MAX_KEEP_DAYS}.`, 'keepDays')
  if (body.archive !== undefined && typeof body.archive !== 'boolean')
    throw invalid('archive must be true or false.', 'archive')
  const tables: Record<string, TableRetention> = {}
  if (body.tables !== undefined) {
    if (!isObject(body.tables) || Object.keys(body.tables).length > MAX_POLICY_TABLES)
      throw invalid(`tables maps at most ${MAX_POLICY_TABLES} table names to { keepDays }.`, 'tables')
    for (const [table, value] of Object.entries(body.tables)) {
      if (!TABLE_RE.test(table)) throw invalid(`"${table.slice(0, 64)}" is not a table name.`, 'tables')
      if (!isObject(value) || Object.keys(value).length !== 1 || !isKeepDays(value.keepDays))
        throw invalid(`tables.${table} must be { "keepDays": 0…${MAX_KEEP_DAYS} }.`, 'tables')
      tables[table] = { keepDays: value.keepDays }
    }
  }
  return { keepDays: body.keepDays, archive: body.archive ?? true, tables }
}

const policyOf = (row: RetentionPolicyRow): RetentionPolicy => ({
  keepDays: Number(row.keep_days),
  archive: row.archive,
  tables: row.tables ?? {},
})

/** The tenant's policy; undefined: none (nothing is purged). */
export async function readPolicy(store: CmsStore, tenantId: string): Promise<RetentionPolicy | undefined> {
  const raw = await store.db.kysely
    .selectFrom('retention_policies')
    .selectAll()
    .where('id', '=', tenantId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst()
  return raw === undefined
    ? undefined
    : policyOf(decodeRow(retentionPolicies, raw as Record<string, unknown>) as unknown as RetentionPolicyRow)
}

/** Sets the caller's tenant's policy (a create or an update, audited). */
export async function putPolicy(store: CmsStore, caller: Caller, body: unknown): Promise<RetentionPolicy> {
  const p = checkPolicy(body)
  const values = { keep_days: p.keepDays, archive: p.archive, tables: p.tables }
  const existing = await readPolicy(store, caller.tenantId)
  const row =
    existing === undefined
      ? await store.auditor.create(retentionPolicies, created({ id: caller.tenantId, ...values }), caller.ctx)
      : await store.auditor.update(retentionPolicies, caller.tenantId, touched(values), caller.ctx)
  return policyOf(row)
}

export interface HoldCreate {
  readonly scope?: unknown
  readonly table?: unknown
  readonly recordId?: unknown
  readonly actorId?: unknown
  readonly reason?: unknown
}

const FIELDS_OF: Record<HoldScope, readonly string[]> = {
  tenant: [],
  record: ['table', 'recordId'],
  actor: ['actorId'],
}

const text = (v: unknown, max: number) =>
  typeof v === 'string' && v.length > 0 && v.length <= max && /\S/.test(v)

/** A hold body, checked: each scope needs exactly its fields (tenant: none; record: table
 * and recordId; actor: actorId) and a reason. */
export function checkHold(
  body: HoldCreate,
): Omit<LegalHoldRow, 'id' | 'tenant_id' | 'version' | 'created_at' | 'updated_at'> {
  if (!HOLD_SCOPES.includes(body.scope as HoldScope))
    throw invalid(`scope must be one of ${HOLD_SCOPES.join(', ')}.`, 'scope')
  const scope = body.scope as HoldScope
  const wanted = FIELDS_OF[scope]
  for (const field of ['table', 'recordId', 'actorId'] as const) {
    const given = body[field] !== undefined
    if (given !== wanted.includes(field))
      throw invalid(
        given ? `A ${scope} hold has no ${field}.` : `A ${scope} hold needs ${wanted.join(' and ')}.`,
        field,
      )
  }
  if (scope === 'record' && !(typeof body.table === 'string' && TABLE_RE.test(body.table)))
    throw invalid('table must be a table name.', 'table')
  if (scope === 'record' && !text(body.recordId, 255))
    throw invalid('recordId must be 1 to 255 characters.', 'recordId')
  if (scope === 'actor' && !text(body.actorId, 255))
    throw invalid('actorId must be 1 to 255 characters.', 'actorId')
  if (!text(body.reason, 500)) throw invalid('reason must be 1 to 500 characters, not only spaces.', 'reason')
  return {
    scope,
    table_name: scope === 'record' ? String(body.table) : null,
    record_id: scope === 'record' ? String(body.recordId) : null,
    actor_id: scope === 'actor' ? String(body.actorId) : null,
    reason: String(body.reason),
  }
}

export async function createHold(store: CmsStore, caller: Caller, body: HoldCreate): Promise<LegalHoldRow> {
  const values = created({ id: newRecordId(), ...checkHold(body) })
  return store.auditor.create(legalHolds, values, caller.ctx)
}

/** Releases a hold (an audited delete): the next retention run may purge what it kept. */
export async function releaseHold(store: CmsStore, caller: Caller, id: string): Promise<void> {
  await store.auditor.delete(legalHolds, id, caller.ctx)
}

/** The tenant's holds, read now. */
export async function holdsOf(store: CmsStore, tenantId: string): Promise<LegalHoldRow[]> {
  const rows = await store.db.kysely
    .selectFrom('legal_holds')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .execute()
  return rows.map(holdRow)
}

/** A stored hold row, decoded (dates as Dates on every dialect). */
export function holdRow(raw: object): LegalHoldRow {
  return decodeRow(legalHolds, raw as Record<string, unknown>) as unknown as LegalHoldRow
}

/** Whether any of `holds` covers the event (purge and erasure both ask). */
export function isHeld(
  holds: readonly LegalHoldRow[],
  e: Pick<ChangeEvent, 'table' | 'recordId' | 'actorId'>,
) {
  return holds.some(
    (h) =>
      h.scope === 'tenant' ||
      (h.scope === 'record' && h.table_name === e.table && h.record_id === e.recordId) ||
      (h.scope === 'actor' && h.actor_id === e.actorId),
  )
}

/** The audit route's restore of a policy or a hold: the engine's (admins only, as every
 * restore); a run record is what happened and is not restorable. */
export async function restoreRetentionRecord(
  store: CmsStore,
  caller: Caller,
  table: 'retention_policies' | 'legal_holds' | 'retention_runs',
  id: string,
  eventId: string,
): Promise<object> {
  if (table === 'retention_runs')
    throw new AuditedError(
      'validation',
      'A retention run is a record of what was purged: it cannot be restored.',
    )
  await store.auditor.events.get(eventId, { tenantId: caller.tenantId })
  const entity = (table === 'legal_holds' ? legalHolds : retentionPolicies) as Entity<object>
  return store.auditor.restore(entity, id, eventId, restoring(caller, eventId).ctx)
}
