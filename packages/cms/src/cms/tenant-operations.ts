/**
 * Tenants (platform admins only): every write of `tenants` goes through these operations.
 * A tenant's events belong to its own timeline (ctx.tenantId = the tenant), where its
 * admins and auditors see them, while the actor is still the platform admin who asked.
 */

import type { AuditedDatabase } from 'audited'
import { AuditedError, decodeRow, type JsonValue, jsonEqual } from 'audited'
import { type Caller, type CmsStore, inTenant, recordedAs, restoring } from './caller.js'
import { type TenantRow, tenants } from './entities.js'
import { created, newRecordId, touched } from './records.js'
import { restoreTarget, textOf } from './restore-source.js'
import { createApiToken } from './token-operations.js'

export type TenantLimits = NonNullable<TenantRow['limits']>

function assertPlatformAdmin(caller: Caller): void {
  if (!caller.platformAdmin) throw new AuditedError('forbidden', 'Only platform admins may change a tenant.')
}

export async function findTenant(db: AuditedDatabase, id: string): Promise<TenantRow> {
  const raw = await db.readKysely.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst()
  if (raw === undefined) throw new AuditedError('not_found', 'No such tenant.', { details: { id } })
  return decodeRow(tenants, raw) as unknown as TenantRow
}

/** The stored form of a new tenant (no limits until a platform admin sets them). */
export function newTenantValues(id: string, name: string) {
  return created({ id, name, limits: null })
}

/** The tenant and its first admin token in one transaction: a tenant nobody can administer must never exist. */
export async function createTenant(
  store: CmsStore,
  caller: Caller,
  name: string,
): Promise<{ tenant: TenantRow; adminToken: string }> {
  assertPlatformAdmin(caller)
  const tenantId = newRecordId()
  const by = inTenant(caller, tenantId)
  return store.auditor.transaction(by.ctx, async (tx) => {
    const tenant = await tx.create(tenants, newTenantValues(tenantId, name))
    const { token } = await createApiToken(store, by, { name: 'initial admin token', role: 'admin' }, tx)
    return { tenant, adminToken: token }
  })
}

/**
 * Merges the given limits into the stored ones. The expected version turns a concurrent
 * PATCH into 409 instead of silently dropping the other caller's fields.
 */
export async function patchLimits(
  store: CmsStore,
  caller: Caller,
  id: string,
  limits: TenantLimits,
): Promise<TenantRow> {
  assertPlatformAdmin(caller)
  const current = await findTenant(store.db, id)
  return store.auditor.update(
    tenants,
    id,
    touched({ limits: { ...(current.limits ?? {}), ...limits } }),
    inTenant(caller, id).ctx,
    { expectedVersion: current.version },
  )
}

/**
 * "Restore tenant to event X": its name and limits as they were, in the tenant's own
 * timeline (which is where its events are looked up, whoever the platform admin is).
 */
export async function restoreTenant(
  store: CmsStore,
  caller: Caller,
  id: string,
  eventId: string,
): Promise<TenantRow> {
  assertPlatformAdmin(caller)
  const by = restoring(inTenant(caller, id), eventId)
  const target = await restoreTarget(store.auditor, tenants, id, eventId, id)
  const current = await findTenant(store.db, id)
  const limits = target.limits
  const patch = {
    name: textOf(target, 'name'),
    limits:
      typeof limits === 'object' && limits !== null && !Array.isArray(limits)
        ? (limits as TenantLimits)
        : null,
  }
  if (patch.name === current.name && jsonEqual(patch.limits as JsonValue, current.limits as JsonValue))
    return current
  return store.auditor.update(tenants, id, touched(patch), by.ctx, {
    expectedVersion: current.version,
    ...recordedAs(by),
  })
}
