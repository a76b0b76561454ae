import { AuditedError } from '../core/errors.js'
import type { Transaction } from '../db/transaction.js'
import type { EngineCore } from './engine-core.js'
import type { Entity } from './entity.js'
import { encodeValues, type Row } from './row-codec.js'

/** Checks and encodes caller values: known columns only, key/tenant/version managed here. */
export async function writeInput(
  core: EngineCore,
  tx: Transaction,
  entity: Entity<object>,
  values: unknown,
  mode: 'create' | 'update',
  requireTenant: () => string,
): Promise<Row> {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new AuditedError('validation', 'Values must be an object of column values.')
  }
  const known = await core.columnsOf(entity, tx)
  const unknown = Object.keys(values).filter((k) => !known.has(k))
  if (unknown.length > 0) {
    throw new AuditedError('validation', `Unknown field(s) for ${entity.table}: ${unknown.join(', ')}.`, {
      details: { fields: unknown },
    })
  }
  const managed = [
    entity.versionColumn,
    ...(mode === 'update' ? [entity.primaryKey, entity.tenantColumn] : []),
  ]
  const given = Object.entries(values as Row).filter(([, v]) => v !== undefined)
  for (const [k] of given) {
    if (k !== undefined && managed.includes(k)) {
      throw new AuditedError('validation', `Field ${k} is managed by the engine and cannot be written.`, {
        details: { fields: [k] },
      })
    }
  }
  const input = encodeValues(entity, Object.fromEntries(given), core.dialect)
  if (mode === 'create') {
    if (entity.tenantColumn) {
      const tenant = requireTenant()
      const givenTenant = input[entity.tenantColumn]
      if (givenTenant !== undefined && givenTenant !== tenant) {
        throw new AuditedError('validation', 'A record cannot be written into another tenant.', {
          details: { fields: [entity.tenantColumn] },
        })
      }
      input[entity.tenantColumn] = tenant
    }
    if (entity.versionColumn) input[entity.versionColumn] = 1
  }
  return input
}
