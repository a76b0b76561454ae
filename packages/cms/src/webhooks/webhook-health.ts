import type { AuditedDatabase } from 'audited'
import type { Kysely } from 'kysely'

/**
 * Since when each subscription has been failing (`webhook_health`): cleared by a success, or
 * by switching the subscription back on (a new failure period starts). The dispatcher
 * disables a subscription whose failure period reaches `WEBHOOK_DISABLE_AFTER_MS`.
 */
export class WebhookHealth {
  // biome-ignore lint/suspicious/noExplicitAny: the CMS's operational table, addressed by name.
  readonly #db: Kysely<any>
  readonly #isConflict: (e: unknown) => boolean

  constructor(db: AuditedDatabase) {
    this.#db = db.kysely
    this.#isConflict = (e) => db.capabilities.classify(e)?.code === 'conflict'
  }

  /** Notes a subscription's outcome; answers since when it has been failing (undefined: healthy). */
  async note(webhookId: string, success: boolean, now = Date.now()): Promise<number | undefined> {
    const row = await this.#db
      .selectFrom('webhook_health')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .executeTakeFirst()
    if (success) {
      if (row === undefined) {
        await this.#insertHealth(webhookId, null, now)
      } else if (row.failing_since !== null || Number(row.last_success_at) < now - 1000) {
        await this.#db
          .updateTable('webhook_health')
          .set({ failing_since: null, last_success_at: now })
          .where('webhook_id', '=', webhookId)
          .execute()
      }
      return undefined
    }
    if (row === undefined) {
      await this.#insertHealth(webhookId, now, null)
      return now
    }
    if (row.failing_since === null) {
      await this.#db
        .updateTable('webhook_health')
        .set({ failing_since: now })
        .where('webhook_id', '=', webhookId)
        .execute()
      return now
    }
    return Number(row.failing_since)
  }

  async #insertHealth(
    webhookId: string,
    failingSince: number | null,
    lastSuccess: number | null,
  ): Promise<void> {
    try {
      await this.#db
        .insertInto('webhook_health')
        .values({ webhook_id: webhookId, failing_since: failingSince, last_success_at: lastSuccess })
        .execute()
    } catch (e) {
      if (!this.#isConflict(e)) throw e
    }
  }

  /** Forgets a subscription's failures (it was switched back on). */
  async forget(webhookId: string): Promise<void> {
    await this.#db.deleteFrom('webhook_health').where('webhook_id', '=', webhookId).execute()
  }
}
