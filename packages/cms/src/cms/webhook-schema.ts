import { createIndexIfMissing, type Migration, makeTextExact } from 'audited'
import { CompiledQuery, sql } from 'kysely'

/**
 * CMS migration 1006: webhook delivery. A subscription gains its ordering and the secret it
 * is rotating away from; `webhook_deliveries` holds one row per (subscription, event) to
 * send, in feed order; `webhook_attempts` every attempt; `webhook_health` when a
 * subscription started failing (it is disabled after 5 days of failures). Deliveries and
 * attempts are operational records, not audited: the events they carry are.
 */
export const WEBHOOK_DELIVERY_MIGRATION: Migration = {
  id: 1006,
  name: 'webhook_delivery',
  async up(db, dialect) {
    const ts = sql.raw(dialect.types.timestamp)
    const columns = await db.executeQuery<{ name?: unknown; NAME?: unknown }>(
      CompiledQuery.raw(dialect.columnsSql, ['webhooks']),
    )
    const have = new Set(columns.rows.map((r) => String(r.name ?? r.NAME)))
    const add = async (name: string, build: () => Promise<unknown>) => {
      if (!have.has(name)) await build()
    }
    await add('ordering', () =>
      db.schema
        .alterTable('webhooks')
        .addColumn('ordering', 'varchar(8)', (c) => c.notNull().defaultTo('record'))
        .execute(),
    )
    await add('previous_secret', () =>
      db.schema.alterTable('webhooks').addColumn('previous_secret', 'varchar(200)').execute(),
    )
    await add('previous_secret_until', () =>
      db.schema.alterTable('webhooks').addColumn('previous_secret_until', ts).execute(),
    )
    await add('disabled_reason', () =>
      db.schema.alterTable('webhooks').addColumn('disabled_reason', 'varchar(200)').execute(),
    )
    await db.schema
      .createTable('webhook_deliveries')
      .ifNotExists()
      .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('dedupe_key', 'varchar(120)', (c) => c.notNull().unique())
      .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
      .addColumn('webhook_id', 'varchar(26)', (c) => c.notNull())
      .addColumn('event_id', 'varchar(26)', (c) => c.notNull())
      .addColumn('feed_pos', 'bigint', (c) => c.notNull())
      .addColumn('type', 'varchar(200)', (c) => c.notNull())
      .addColumn('record_key', 'varchar(400)', (c) => c.notNull())
      .addColumn('status', 'varchar(12)', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('claim', 'varchar(40)')
      .addColumn('claimed_until', 'bigint')
      .addColumn('last_status', 'integer')
      .addColumn('last_error', 'varchar(500)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute()
    const index = (table: string, name: string, cols: string[]) =>
      createIndexIfMissing(db, dialect, table, name, cols)
    await index('webhook_deliveries', 'webhook_deliveries_due', ['status', 'next_attempt_at', 'id'])
    await index('webhook_deliveries', 'webhook_deliveries_record', [
      'webhook_id',
      'record_key',
      'feed_pos',
      'event_id',
    ])
    await index('webhook_deliveries', 'webhook_deliveries_list', ['webhook_id', 'id'])
    await db.schema
      .createTable('webhook_attempts')
      .ifNotExists()
      .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('delivery_id', 'varchar(26)', (c) => c.notNull())
      .addColumn('webhook_id', 'varchar(26)', (c) => c.notNull())
      .addColumn('attempted_at', 'bigint', (c) => c.notNull())
      .addColumn('outcome', 'varchar(12)', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('latency_ms', 'integer', (c) => c.notNull())
      .addColumn('error', 'varchar(500)')
      .addColumn('next_attempt_at', 'bigint')
      .execute()
    await index('webhook_attempts', 'webhook_attempts_delivery', ['delivery_id', 'id'])
    await db.schema
      .createTable('webhook_health')
      .ifNotExists()
      .addColumn('webhook_id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('failing_since', 'bigint')
      .addColumn('last_success_at', 'bigint')
      .execute()
    await makeTextExact(db, dialect, ['webhook_deliveries', 'webhook_attempts', 'webhook_health'])
  },
}
