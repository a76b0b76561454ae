import { AuditedError } from 'audited'
import { restoreAsset } from './asset-operations.js'
import type { Caller, CmsStore } from './caller.js'
import { restoreContentType } from './content-type-operations.js'
import { CMS_ENTITIES } from './entities.js'
import { restoreEntry } from './entry-restore.js'
import { restoreRetentionRecord } from './retention-operations.js'
import { restoreTenant } from './tenant-operations.js'
import { restoreToken } from './token-operations.js'
import { restoreUser } from './user-operations.js'

export type RestorableTable = keyof typeof CMS_ENTITIES

export interface RestoreRequest {
  readonly eventId: string
  /** Entries only: the publish status to give the restored entry (default: unchanged). */
  readonly status?: 'draft' | 'published' | undefined
}

/**
 * `POST /audit/restore/:table/:id`: each table's restore is that resource's domain
 * operation, under the same rules as its other writes. Locales, media and webhooks have no
 * rules beyond their database constraints: the engine's own restore (action `restore`).
 */
export async function restoreRecord(
  store: CmsStore,
  caller: Caller,
  table: RestorableTable,
  id: string,
  body: RestoreRequest,
): Promise<object> {
  if (body.status !== undefined && table !== 'entries') {
    throw new AuditedError('validation', '"status" applies to entries only.', {
      details: { field: 'status' },
    })
  }
  switch (table) {
    case 'entries':
      return restoreEntry(store, caller, id, body)
    case 'users':
      return restoreUser(store, caller, id, body.eventId)
    case 'content_types':
      return restoreContentType(store, caller, id, body.eventId)
    case 'tenants':
      return restoreTenant(store, caller, id, body.eventId)
    case 'tokens':
      return restoreToken()
    case 'locales':
    case 'media':
    case 'webhooks':
      return restoreAsset(store, caller, CMS_ENTITIES[table], id, body.eventId)
    case 'retention_policies':
    case 'legal_holds':
    case 'retention_runs':
      return restoreRetentionRecord(store, caller, table, id, body.eventId)
  }
}
