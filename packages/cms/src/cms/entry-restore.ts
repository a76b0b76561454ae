import { AuditedError, ERASED, isAuditedError } from 'audited'
import type { Caller, CmsStore } from './caller.js'
import { restoring } from './caller.js'
import { loadType } from './content-type-operations.js'
import { type ContentTypeRow, type EntryRow, entries } from './entities.js'
import { createEntry, type EntryStatus, findEntry, updateEntry } from './entry-operations.js'
import { type Data, fieldValue, withoutStaleFields } from './entry-validation.js'
import { assertNotErased, restoreTarget, textOf } from './restore-source.js'

export interface EntryRestore {
  readonly eventId: string
  /** The status to give the entry; absent: it keeps its current one (a deleted entry comes back as a draft). */
  readonly status?: 'draft' | 'published' | undefined
}

/**
 * "Restore entry to event X": its data and locale become what they were after that
 * event, under the rules of a PATCH (or of a create when the entry was deleted): the data
 * is validated against the content type as it is NOW (fields it no longer declares are
 * dropped), unique values must be free, `updatedAt` is now. The publish status changes
 * only when asked, and then through the same `publish` / `unpublish` event as the
 * dedicated routes, so consumers of those events never miss one. The events are recorded
 * with action `restore` (a status change: `publish` / `unpublish`), reason and `metadata.restoredFrom`.
 */
export async function restoreEntry(
  store: CmsStore,
  caller: Caller,
  id: string,
  body: EntryRestore,
): Promise<EntryRow> {
  const target = await restoreTarget(store.auditor, entries, id, body.eventId, caller.tenantId)
  const current = await findEntry(store.db, caller.tenantId, id)
  const type = await currentType(store, caller, current?.type ?? textOf(target, 'type'))
  const stored = target.data
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    throw new AuditedError('validation', 'The event holds no entry data to restore.', { details: { id } })
  }
  const data = withoutStaleFields(type, stored as Data)
  const erased = type.fields.filter((f) => f.personal === true && fieldValue(data, f.name) === ERASED)
  assertNotErased(
    'entries',
    erased.map((f) => f.name),
    body.eventId,
  )
  const locale = textOf(target, 'locale')
  const by = restoring(caller, body.eventId)
  if (current === undefined) {
    const status: EntryStatus = 'draft'
    return createEntry(
      store,
      by,
      type,
      { data, locale, status },
      { id, publishAfter: body.status === 'published' },
    )
  }
  return updateEntry(store, by, type, current, { data, locale, status: body.status })
}

/** The entry's content type as it is now; gone is a `conflict` naming it, not a 404 of the route. */
async function currentType(store: CmsStore, caller: Caller, key: string): Promise<ContentTypeRow> {
  try {
    return await loadType(store.db, caller.tenantId, key)
  } catch (error) {
    if (!isAuditedError(error) || error.code !== 'not_found') throw error
    throw new AuditedError('conflict', `The entry's content type "${key}" no longer exists.`, {
      details: { reason: 'foreign_key', type: key },
    })
  }
}
