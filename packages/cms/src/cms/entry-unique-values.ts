import { createHash } from 'node:crypto'
import type { AuditedDatabase, AuditedWriter } from 'audited'
import { AuditedError, canonicalJson } from 'audited'
import { type ContentTypeRow, type EntryUniqueValueRow, entryUniqueValues } from './entities.js'
import { type Data, fieldValue } from './entry-validation.js'

/**
 * The values of `unique` entry fields, one row each in `entry_unique_values`, written in
 * the entry's own transaction by every path that writes an entry (create, PATCH, delete,
 * restore).
 */
export type UniqueRow = Omit<EntryUniqueValueRow, 'tenant_id'>

/**
 * The row id of one unique value: sha256 of [tenant, type, field, value]. Canonical JSON
 * equals JSON.stringify for the scalar values fields hold, and gives `json` values one
 * spelling whatever their key order. A duplicate value is therefore a primary-key
 * violation, which the engine reports as `conflict`, on every dialect.
 */
function uniqueValueId(tenantId: string, type: string, field: string, value: unknown): string {
  return createHash('sha256')
    .update(canonicalJson([tenantId, type, field, value]))
    .digest('hex')
}

/** The unique-value rows `data` needs: one per unique field that has a value. */
export function uniqueRowsFor(
  tenantId: string,
  type: ContentTypeRow,
  entryId: string,
  data: Data,
): UniqueRow[] {
  return type.fields
    .filter((f) => f.unique === true && fieldValue(data, f.name) !== undefined)
    .map((f) => ({
      id: uniqueValueId(tenantId, type.key, f.name, fieldValue(data, f.name)),
      type: type.key,
      field: f.name,
      entry_id: entryId,
    }))
}

/**
 * The unique-value rows an entry owns now. Read by `entry_id` rather than recomputed from
 * its data, so rows of fields that stopped being unique are found and removed too. Call
 * this after reading the entry: the write then expects the entry's version, and every
 * change to these rows comes with a version bump, so a stale read ends in `conflict`.
 */
export async function uniqueRowsOf(
  db: AuditedDatabase,
  tenantId: string,
  entryId: string,
): Promise<UniqueRow[]> {
  const rows = await db.readKysely
    .selectFrom('entry_unique_values')
    .select(['id', 'type', 'field', 'entry_id'])
    .where('tenant_id', '=', tenantId)
    .where('entry_id', '=', entryId)
    .execute()
  return rows.map((r) => ({
    id: String(r.id),
    type: String(r.type),
    field: String(r.field),
    entry_id: String(r.entry_id),
  }))
}

/**
 * A friendly 409 naming the field when a value is already taken. Only a courtesy: the
 * primary key in the write transaction is what enforces uniqueness under concurrency.
 */
export async function assertValuesFree(db: AuditedDatabase, tenantId: string, wanted: readonly UniqueRow[]) {
  if (wanted.length === 0) return
  const taken = await db.readKysely
    .selectFrom('entry_unique_values')
    .select(['id', 'entry_id'])
    .where('tenant_id', '=', tenantId)
    .where(
      'id',
      'in',
      wanted.map((w) => w.id),
    )
    .execute()
  const clash = wanted.find((w) => taken.some((t) => t.id === w.id && t.entry_id !== w.entry_id))
  if (clash !== undefined) {
    throw new AuditedError('conflict', `Another entry already has this "${clash.field}".`, {
      details: { reason: 'unique', field: clash.field },
    })
  }
}

/**
 * Runs the entry's write; when it fails with `conflict` (a racing writer took a value
 * between the pre-check and the write, and the primary key refused it), re-checks so the
 * client learns which field clashed. Any other conflict (a stale version) is rethrown.
 */
export async function withUniqueConflicts<T>(
  db: AuditedDatabase,
  tenantId: string,
  wanted: readonly UniqueRow[],
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write()
  } catch (error) {
    if (error instanceof AuditedError && error.code === 'conflict')
      await assertValuesFree(db, tenantId, wanted)
    throw error
  }
}

/** Inside the entry's transaction: removes rows no longer wanted, adds the new ones. */
export async function syncUniqueRows(
  tx: AuditedWriter,
  existing: readonly UniqueRow[],
  wanted: readonly UniqueRow[],
) {
  const keep = new Set(wanted.map((w) => w.id))
  const have = new Set(existing.map((e) => e.id))
  for (const old of existing) if (!keep.has(old.id)) await tx.delete(entryUniqueValues, old.id)
  for (const row of wanted) if (!have.has(row.id)) await tx.create(entryUniqueValues, row)
}
