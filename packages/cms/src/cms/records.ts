import { createIdFactory } from 'audited'

/** ULIDs for CMS records (sortable: list pages are keyed on them). */
export const newRecordId = createIdFactory()

/** `created_at` / `updated_at` for a new record. */
export function created<T extends object>(values: T): T & { created_at: Date; updated_at: Date } {
  const now = new Date()
  return { ...values, created_at: now, updated_at: now }
}

/** `updated_at` for a patch. */
export function touched<T extends object>(patch: T): T & { updated_at: Date } {
  return { ...patch, updated_at: new Date() }
}
