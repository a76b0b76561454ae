import type { AuditedDatabase, Auditor, ChangeEvent, Subscription } from 'audited'
import type { Kysely } from 'kysely'
import type { DeliveryStore, NewDelivery } from './delivery-store.js'
import { eventType, matches } from './patterns.js'

/** A subscription as fan-out and delivery read it. */
export interface ActiveWebhook {
  readonly id: string
  readonly tenantId: string
  readonly patterns: readonly string[]
  readonly createdAt: number
}

function patternsOf(value: unknown): string[] {
  const parsed = typeof value === 'string' ? JSON.parse(value) : value
  return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === 'string') : []
}

/** Active subscriptions of these tenants. */
export async function activeWebhooks(
  db: AuditedDatabase,
  tenants: readonly string[],
): Promise<ActiveWebhook[]> {
  if (tenants.length === 0) return []
  // biome-ignore lint/suspicious/noExplicitAny: the CMS's table, by name.
  const k = db.kysely as Kysely<any>
  const rows = await k
    .selectFrom('webhooks')
    .select(['id', 'tenant_id', 'events', 'created_at'])
    .where('tenant_id', 'in', [...tenants])
    .where('active', '=', db.capabilities.toParameter(true))
    .execute()
  return rows.map((r) => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    patterns: patternsOf(r.events),
    createdAt: new Date(r.created_at as string).getTime(),
  }))
}

/** The deliveries an event makes for the given subscriptions (those whose patterns match
 * and that existed when it happened). */
export function deliveriesFor(
  event: ChangeEvent,
  feedPos: bigint,
  hooks: readonly ActiveWebhook[],
  replay?: string,
): NewDelivery[] {
  const type = eventType(event)
  const at = Date.parse(event.wallTime)
  const out: NewDelivery[] = []
  for (const w of hooks) {
    if (w.tenantId !== event.tenantId || !matches(w.patterns, type)) continue
    if (replay === undefined && at < w.createdAt) continue
    out.push({
      tenantId: w.tenantId,
      webhookId: w.id,
      eventId: event.eventId,
      feedPos,
      type,
      recordKey: `${event.table}:${event.recordId}`,
      ...(replay === undefined ? {} : { replay }),
    })
  }
  return out
}

/**
 * The durable feed consumer that turns events into deliveries: for every committed event,
 * one delivery per active subscription of its tenant whose patterns match. A new consumer
 * starts at the newest event; the deliveries of a batch are queued before it is
 * acknowledged (a batch redone after a crash queues nothing twice).
 */
export function startFanOut(
  auditor: Auditor,
  db: AuditedDatabase,
  store: DeliveryStore,
  onQueued: () => void,
  onError: (error: unknown) => void,
): Subscription {
  return auditor.feed.subscribe(
    'cms.webhooks',
    async (events) => {
      const tenants = [...new Set(events.map((e) => e.tenantId).filter((t): t is string => t !== null))]
      const hooks = await activeWebhooks(db, tenants)
      if (hooks.length === 0) return
      const list = events.flatMap((e) => deliveriesFor(e, BigInt(e.position), hooks))
      if ((await store.enqueue(list)) > 0) onQueued()
    },
    { from: 'now', batchSize: 200, onError: (e) => onError(e) },
  )
}
