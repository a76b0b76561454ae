/**
 * Webhook subscriptions: every write of the `webhooks` table goes through these
 * operations. A URL is vetted against the SSRF rules (src/webhooks/ssrf.ts) and its event
 * patterns against the CMS's tables and actions; the signing secret is generated here, shown
 * once, and on rotation the old one keeps signing alongside the new one for 24 hours.
 */
import { AuditedError } from 'audited'
import { patternProblem } from '../webhooks/patterns.js'
import { newWebhookSecret } from '../webhooks/signing.js'
import { checkWebhookUrl, type HostPolicy } from '../webhooks/ssrf.js'
import { purgeSubscriptionRecords } from '../webhooks/subscription-purge.js'
import { WebhookHealth } from '../webhooks/webhook-health.js'
import { type Caller, type CmsStore, systemCaller } from './caller.js'
import { CMS_ENTITIES, type WebhookRow, webhooks } from './entities.js'
import { created, newRecordId, touched } from './records.js'

export type WebhookOrdering = 'record' | 'none'

export interface WebhookChange {
  readonly url?: string | undefined
  readonly events?: string[] | undefined
  readonly active?: boolean | undefined
  readonly ordering?: WebhookOrdering | undefined
}

/** How long a rotated-out secret keeps signing (ms). */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000

const TABLES = Object.keys(CMS_ENTITIES)

function checkChange(body: WebhookChange, policy: HostPolicy): void {
  if (body.url !== undefined) {
    const check = checkWebhookUrl(body.url, policy)
    if ('reason' in check) {
      throw new AuditedError('validation', check.message, { details: { field: 'url', reason: check.reason } })
    }
  }
  for (const pattern of body.events ?? []) {
    const problem = patternProblem(pattern, TABLES)
    if (problem !== undefined) throw new AuditedError('validation', problem, { details: { field: 'events' } })
  }
}

export async function createWebhook(
  store: CmsStore,
  caller: Caller,
  body: WebhookChange & { url: string; events: string[] },
  policy: HostPolicy,
): Promise<WebhookRow> {
  checkChange(body, policy)
  const values = created({
    id: newRecordId(),
    active: true,
    ordering: 'record' as WebhookOrdering,
    ...body,
    secret: newWebhookSecret(),
    previous_secret: null,
    previous_secret_until: null,
    disabled_reason: null,
  })
  return store.auditor.create(webhooks, values, caller.ctx)
}

export async function patchWebhook(
  store: CmsStore,
  caller: Caller,
  id: string,
  body: WebhookChange,
  policy: HostPolicy,
): Promise<WebhookRow> {
  checkChange(body, policy)
  // Switching a subscription back on clears why it was switched off, and starts a new
  // failure period: the failures before it was off do not count towards disabling it again.
  const extra = body.active === true ? { disabled_reason: null } : {}
  const wasOff = body.active === true && (await isOff(store, caller.tenantId, id))
  const row = await store.auditor.update(webhooks, id, touched({ ...body, ...extra }), caller.ctx)
  if (wasOff) await new WebhookHealth(store.db).forget(id)
  return row
}

async function isOff(store: CmsStore, tenantId: string, id: string): Promise<boolean> {
  const row = (await store.db.kysely
    .selectFrom('webhooks' as never)
    .select(['active'] as never[])
    .where('id' as never, '=', id as never)
    .where('tenant_id' as never, '=', tenantId as never)
    .executeTakeFirst()) as { active?: unknown } | undefined
  return row !== undefined && !(row.active === true || row.active === 1 || row.active === '1')
}

/** Deletes the subscription (audited), then its delivery records (deliveries, attempts,
 * health: operational rows, not audited), a batch at a time. */
export async function deleteWebhook(store: CmsStore, caller: Caller, id: string): Promise<void> {
  await store.auditor.delete(webhooks, id, caller.ctx)
  await purgeSubscriptionRecords(store.db.kysely, id)
}

/** A new signing secret (returned once); the current one signs too for 24 hours. A
 * concurrent change of the subscription makes this a `conflict` (version check). */
export async function rotateWebhookSecret(store: CmsStore, caller: Caller, id: string): Promise<WebhookRow> {
  const current = await store.db.kysely
    .selectFrom('webhooks' as never)
    .select(['secret', 'version'] as never[])
    .where('id' as never, '=', id as never)
    .where('tenant_id' as never, '=', caller.tenantId as never)
    .executeTakeFirst()
  const row = current as { secret?: unknown; version?: unknown } | undefined
  if (row === undefined) throw new AuditedError('not_found', 'No webhook with that id.')
  return store.auditor.update(
    webhooks,
    id,
    touched({
      secret: newWebhookSecret(),
      previous_secret: String(row.secret),
      previous_secret_until: new Date(Date.now() + SECRET_OVERLAP_MS),
    }),
    caller.ctx,
    { expectedVersion: Number(row.version) },
  )
}

/** Switches a subscription off on the delivery's behalf (410, or failing for days). */
export async function disableWebhook(
  store: CmsStore,
  tenantId: string,
  id: string,
  reason: string,
): Promise<void> {
  const caller = systemCaller(tenantId, 'webhook-delivery', reason)
  try {
    await store.auditor.update(
      webhooks,
      id,
      touched({ active: false, disabled_reason: reason.slice(0, 200) }),
      caller.ctx,
    )
  } catch (e) {
    if (!(e instanceof AuditedError && e.code === 'not_found')) throw e
  }
}
