/**
 * Content types: every write of `content_types` (its routes and restore) goes through
 * these operations. Field changes apply to later writes: stored entries are not
 * rewritten; a removed field is dropped from an entry on its next write (see
 * `withoutStaleFields`). Only a new `unique` flag is refused while entries exist.
 */

import type { AuditedDatabase } from 'audited'
import { AuditedError, decodeRow, type JsonValue, jsonEqual } from 'audited'
import type { Caller, CmsStore } from './caller.js'
import { recordedAs, restoring } from './caller.js'
import { type FieldInput, normaliseFields } from './content-fields.js'
import { type ContentTypeRow, contentTypes, type FieldDefinition } from './entities.js'
import { created, newRecordId, touched } from './records.js'
import { restoreTarget, textOf } from './restore-source.js'

/** A tenant's content type by key, or `not_found` (also for another tenant's type). */
export async function loadType(db: AuditedDatabase, tenantId: string, key: string): Promise<ContentTypeRow> {
  const type = await findType(db, tenantId, 'key', key)
  if (type === undefined) throw new AuditedError('not_found', 'No such content type.', { details: { key } })
  return type
}

async function findType(
  db: AuditedDatabase,
  tenantId: string,
  column: 'key' | 'id',
  value: string,
): Promise<ContentTypeRow | undefined> {
  const raw = await db.readKysely
    .selectFrom('content_types')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where(column, '=', value)
    .executeTakeFirst()
  // decodeRow normalises by the entity's declared column kinds (JSON text, timestamps), so
  // the row has the entity's row type on every dialect.
  return raw === undefined ? undefined : (decodeRow(contentTypes, raw) as unknown as ContentTypeRow)
}

export async function typeHasEntries(db: AuditedDatabase, tenantId: string, key: string): Promise<boolean> {
  const row = await db.readKysely
    .selectFrom('entries')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('type', '=', key)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Making a field unique while entries exist would leave their values unchecked (no
 * unique-value rows were written for them), so it is refused rather than half-enforced.
 */
async function assertNoNewUniqueWithEntries(
  db: AuditedDatabase,
  tenantId: string,
  key: string,
  before: readonly FieldDefinition[],
  next: readonly FieldDefinition[],
): Promise<void> {
  const wasUnique = new Set(before.filter((f) => f.unique === true).map((f) => f.name))
  const added = next.filter((f) => f.unique === true && !wasUnique.has(f.name)).map((f) => f.name)
  if (added.length === 0 || !(await typeHasEntries(db, tenantId, key))) return
  throw new AuditedError('conflict', 'A field cannot become unique while the type has entries.', {
    details: { reason: 'has_entries', fields: added },
  })
}

export interface ContentTypeCreate {
  readonly key: string
  readonly name: string
  readonly fields: readonly FieldInput[]
}

export async function createContentType(store: CmsStore, caller: Caller, body: ContentTypeCreate) {
  const fields = normaliseFields(body.fields)
  const values = { id: newRecordId(), key: body.key, name: body.name, fields }
  return store.auditor.create(contentTypes, created(values), caller.ctx)
}

export interface ContentTypePatch {
  readonly name?: string | undefined
  readonly fields?: readonly FieldInput[] | undefined
  readonly version?: number | undefined
}

export async function patchContentType(store: CmsStore, caller: Caller, key: string, body: ContentTypePatch) {
  const type = await loadType(store.db, caller.tenantId, key)
  const patch: Partial<ContentTypeRow> = {}
  if (body.name !== undefined) patch.name = body.name
  if (body.fields !== undefined) {
    patch.fields = normaliseFields(body.fields)
    await assertNoNewUniqueWithEntries(store.db, caller.tenantId, type.key, type.fields, patch.fields)
  }
  const expectedVersion = body.version
  return store.auditor.update(contentTypes, type.id, touched(patch), caller.ctx, {
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
  })
}

export async function deleteContentType(store: CmsStore, caller: Caller, key: string): Promise<void> {
  const type = await loadType(store.db, caller.tenantId, key)
  // Checked before the write, not inside it (the writer cannot read): an entry created
  // concurrently can survive its type. Entries of a missing type are then 404, not lost.
  if (await typeHasEntries(store.db, caller.tenantId, type.key)) {
    throw new AuditedError('conflict', 'The content type still has entries.', {
      details: { reason: 'foreign_key', key: type.key },
    })
  }
  await store.auditor.delete(contentTypes, type.id, caller.ctx, { expectedVersion: type.version })
}

/**
 * Restores a content type's name and fields to their state after `eventId`, under the
 * rules of a PATCH (or of a create when the type was deleted: its key must be free).
 */
export async function restoreContentType(
  store: CmsStore,
  caller: Caller,
  id: string,
  eventId: string,
): Promise<ContentTypeRow> {
  const target = await restoreTarget(store.auditor, contentTypes, id, eventId, caller.tenantId)
  const fields = normaliseFields(target.fields as unknown as FieldInput[])
  const name = textOf(target, 'name')
  const key = textOf(target, 'key')
  const by = restoring(caller, eventId)
  const current = await findType(store.db, caller.tenantId, 'id', id)
  if (current === undefined) {
    const values = created({ id, key, name, fields })
    return store.auditor.create(contentTypes, values, by.ctx, recordedAs(by))
  }
  if (
    name === current.name &&
    jsonEqual(fields as unknown as JsonValue, current.fields as unknown as JsonValue)
  ) {
    return current
  }
  await assertNoNewUniqueWithEntries(store.db, caller.tenantId, current.key, current.fields, fields)
  return store.auditor.update(contentTypes, id, touched({ name, fields }), by.ctx, {
    expectedVersion: current.version,
    ...recordedAs(by),
  })
}
