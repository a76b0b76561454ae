/**
 * A deleted subscription's delivery records — its deliveries, their attempts, its health
 * row — deleted a batch at a time (short transactions, no long locks). The API deletes them
 * right after the subscription; the delivery queue also drops any it meets later (a delivery
 * queued by a fan-out that read the subscription just before it was deleted), so none stays.
 */
import type { Kysely } from 'kysely'

const BATCH = 500

// biome-ignore lint/suspicious/noExplicitAny: the CMS's operational tables, addressed by name.
export async function purgeSubscriptionRecords(k: Kysely<any>, webhookId: string): Promise<number> {
  let total = 0
  for (;;) {
    const ids = (
      await k
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('webhook_id', '=', webhookId)
        .limit(BATCH)
        .execute()
    ).map((r) => String(r.id))
    if (ids.length === 0) break
    await k.transaction().execute(async (tx) => {
      await tx.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute()
      await tx.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute()
    })
    total += ids.length
    if (ids.length < BATCH) break
  }
  await k.deleteFrom('webhook_health').where('webhook_id', '=', webhookId).execute()
  return total
}
