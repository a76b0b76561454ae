/**
 * Locales, media metadata and webhooks: every write of these tables goes through these
 * operations. Their rules are few (a locale code is unique per tenant — the database key
 * answers `conflict`; a webhook's secret is generated here, never chosen by a client) so
 * their restore is the engine's own (action `restore`).
 */
import type { Entity } from 'audited'
import { type Caller, type CmsStore, restoring } from './caller.js'
import { type LocaleRow, locales, type MediaRow, media, type WebhookRow } from './entities.js'
import { created, newRecordId } from './records.js'

export async function createLocale(store: CmsStore, caller: Caller, body: { code: string; name: string }) {
  return store.auditor.create(locales, created({ id: newRecordId(), ...body }), caller.ctx)
}

export interface MediaCreate {
  readonly filename: string
  readonly mime: string
  readonly size: number
  readonly checksum: string
  readonly url: string
}

/** `size` is stored as BIGINT (a decimal string in rows). */
export async function createMedia(store: CmsStore, caller: Caller, body: MediaCreate): Promise<MediaRow> {
  const { size, ...rest } = body
  return store.auditor.create(media, created({ id: newRecordId(), ...rest, size: String(size) }), caller.ctx)
}

/** The assets' restore: the engine's, the event first looked up within the caller's tenant (404 otherwise). */
export async function restoreAsset(
  store: CmsStore,
  caller: Caller,
  entity: Entity<LocaleRow> | Entity<MediaRow> | Entity<WebhookRow>,
  id: string,
  eventId: string,
): Promise<object> {
  await store.auditor.events.get(eventId, { tenantId: caller.tenantId })
  return store.auditor.restore(entity as Entity<object>, id, eventId, restoring(caller, eventId).ctx)
}
