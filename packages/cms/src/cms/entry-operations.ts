/**
 * Entries: every write of `entries` (its routes and restore) goes through these
 * operations, so the entry rules hold on every path: data validated against the content
 * type as it is now, unique values checked and their rows written in the entry's own
 * transaction, an expected version, and no write (no event, no version bump) when nothing
 * would change.
 */

import type { AuditedDatabase, AuditedWriter } from 'audited'
import { AuditedError, decodeRow, type JsonValue, jsonEqual } from 'audited'
import { type Caller, type CmsStore, recordedAs } from './caller.js'
import { loadType } from './content-type-operations.js'
import { type ContentTypeRow, type EntryRow, entries } from './entities.js'
import {
  assertValuesFree,
  syncUniqueRows,
  type UniqueRow,
  uniqueRowsFor,
  uniqueRowsOf,
  withUniqueConflicts,
} from './entry-unique-values.js'
import { type Data, mergeData, validateData, withoutNulls, withoutStaleFields } from './entry-validation.js'
import { created, newRecordId, touched } from './records.js'

export type EntryStatus = EntryRow['status']

/** One entry of this tenant and type, or `not_found`. */
export async function loadEntry(
  db: AuditedDatabase,
  tenantId: string,
  type: string,
  id: string,
): Promise<EntryRow> {
  const entry = await findEntry(db, tenantId, id)
  if (entry === undefined || entry.type !== type) {
    throw new AuditedError('not_found', 'No such entry.', { details: { type, id } })
  }
  return entry
}

/** One entry of this tenant by id, whatever its type. */
export async function findEntry(
  db: AuditedDatabase,
  tenantId: string,
  id: string,
): Promise<EntryRow | undefined> {
  const raw = await db.readKysely
    .selectFrom('entries')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  return raw === undefined ? undefined : (decodeRow(entries, raw) as unknown as EntryRow)
}

export interface NewEntry {
  readonly data: Data
  readonly locale?: string | undefined
  readonly status?: EntryStatus | undefined
}

/** How restore re-creates a deleted entry: under its own id, published by its own event. */
export interface CreateOptions {
  readonly id?: string
  /** Written as a draft, then published in the same transaction: the `publish` event exists. */
  readonly publishAfter?: boolean
}

/** A new entry and its unique-value rows, one transaction. */
export async function createEntry(
  store: CmsStore,
  caller: Caller,
  type: ContentTypeRow,
  entry: NewEntry,
  options: CreateOptions = {},
): Promise<EntryRow> {
  const id = options.id ?? newRecordId()
  const { db, auditor } = store
  const data = withoutNulls(entry.data)
  await validateData(db, caller.tenantId, type, data)
  const wanted = uniqueRowsFor(caller.tenantId, type, id, data)
  await assertValuesFree(db, caller.tenantId, wanted)
  const values = { id, type: type.key, locale: entry.locale ?? 'en', status: entry.status ?? 'draft', data }
  return withUniqueConflicts(db, caller.tenantId, wanted, () =>
    auditor.transaction(caller.ctx, async (tx) => {
      const row = await tx.create(entries, created(values), recordedAs(caller))
      await syncUniqueRows(tx, [], wanted)
      if (options.publishAfter !== true) return row
      return tx.update(entries, id, touched({ status: 'published' as const }), {
        expectedVersion: row.version,
      })
    }),
  )
}

/** What an update may change; absent keys stay as they are. */
export interface EntryChange {
  /** The entry's whole new data (already merged and pruned by the caller). */
  readonly data?: Data | undefined
  readonly locale?: string | undefined
  readonly status?: EntryStatus | undefined
}

/**
 * Applies `change` to `current` under every entry rule. `expectedVersion` is the version
 * the client sent or, without one, the version `current` was read at: a concurrent write
 * in between is a `conflict` instead of being overwritten, and it keeps the unique-value
 * rows read for `current` trustworthy. Nothing to change: no write, `current` returned.
 */
export async function updateEntry(
  store: CmsStore,
  caller: Caller,
  type: ContentTypeRow,
  current: EntryRow,
  change: EntryChange,
  expectedVersion: number = current.version,
): Promise<EntryRow> {
  const { db, auditor } = store
  if (expectedVersion !== current.version) {
    throw new AuditedError('conflict', 'The entry has changed since that version.', {
      details: { reason: 'version', expectedVersion, currentVersion: current.version },
    })
  }
  const patch: Partial<EntryRow> = {}
  if (change.data !== undefined && !sameJson(change.data, current.data)) patch.data = change.data
  if (change.locale !== undefined && change.locale !== current.locale) patch.locale = change.locale
  if (change.status !== undefined && change.status !== current.status) patch.status = change.status
  if (Object.keys(patch).length === 0) return current
  // Published content always fits the current type: publishing re-validates the data.
  if (patch.data !== undefined || patch.status === 'published') {
    await validateData(db, caller.tenantId, type, patch.data ?? current.data)
  }
  const existing = await uniqueRowsOf(db, caller.tenantId, current.id)
  const wanted =
    patch.data === undefined ? existing : uniqueRowsFor(caller.tenantId, type, current.id, patch.data)
  await assertValuesFree(db, caller.tenantId, wanted)
  return withUniqueConflicts(db, caller.tenantId, wanted, () =>
    auditor.transaction(caller.ctx, (tx) => writeUpdate(tx, caller, current, patch, existing, wanted)),
  )
}

async function writeUpdate(
  tx: AuditedWriter,
  caller: Caller,
  current: EntryRow,
  patch: Partial<EntryRow>,
  existing: readonly UniqueRow[],
  wanted: readonly UniqueRow[],
): Promise<EntryRow> {
  const entry = await tx.update(entries, current.id, touched(patch), {
    expectedVersion: current.version,
    ...recordedAs(caller),
  })
  await syncUniqueRows(tx, existing, wanted)
  return entry
}

const sameJson = (a: Data, b: Data) => jsonEqual(a as JsonValue, b as JsonValue)

export interface EntryPatch {
  readonly data?: Data | undefined
  readonly locale?: string | undefined
  readonly version?: number | undefined
}

/**
 * Merges `data` over the stored data (fields the type no longer declares are dropped;
 * `null` removes a key). A PATCH that changes nothing writes nothing.
 */
export async function patchEntry(
  store: CmsStore,
  caller: Caller,
  at: { type: string; id: string },
  body: EntryPatch,
): Promise<EntryRow> {
  const type = await loadType(store.db, caller.tenantId, at.type)
  const current = await loadEntry(store.db, caller.tenantId, type.key, at.id)
  const data =
    body.data === undefined ? undefined : mergeData(withoutStaleFields(type, current.data), body.data)
  return updateEntry(store, caller, type, current, { data, locale: body.locale }, body.version)
}

/**
 * Sets the status; the engine records `publish` / `unpublish` because `entries` declares
 * `statusColumn`. Already in that status: nothing is written. Publishing drops fields the
 * type no longer declares, like any other write.
 */
export async function setEntryStatus(
  store: CmsStore,
  caller: Caller,
  at: { type: string; id: string },
  status: 'published' | 'draft',
  version: number | undefined,
): Promise<EntryRow> {
  const type = await loadType(store.db, caller.tenantId, at.type)
  const current = await loadEntry(store.db, caller.tenantId, type.key, at.id)
  if (current.status === status) return updateEntry(store, caller, type, current, {}, version)
  const data = withoutStaleFields(type, current.data)
  return updateEntry(store, caller, type, current, { status, data }, version)
}

/** The entry and its unique-value rows (freeing the values), one transaction. */
export async function deleteEntry(
  store: CmsStore,
  caller: Caller,
  at: { type: string; id: string },
): Promise<void> {
  const type = await loadType(store.db, caller.tenantId, at.type)
  const current = await loadEntry(store.db, caller.tenantId, type.key, at.id)
  const existing = await uniqueRowsOf(store.db, caller.tenantId, current.id)
  await store.auditor.transaction(caller.ctx, async (tx) => {
    // Expecting the version read above makes `existing` trustworthy (see `uniqueRowsOf`).
    await tx.delete(entries, current.id, { expectedVersion: current.version })
    await syncUniqueRows(tx, existing, [])
  })
}
