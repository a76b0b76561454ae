import { CompiledQuery, type Kysely } from 'kysely'
import type { Dialect } from './dialect.js'
import { createIndexIfMissing, makeTextExact } from './schema-helpers.js'

/**
 * Migration 4: the change feed. Every event gets a feed position (`feed_pos`, see
 * dialects/feed-positions.ts; existing events read 0, before every new one) and an index
 * the feed reads in order; durable consumers keep their offsets and leases in
 * `audited_consumers`. The `consumed_at` index is dropped: nothing read it, and the feed
 * replaces it (one index more, one less: the write cost stays).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations address tables the typed schema does not know yet.
export async function addChangeFeed(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const hasPosition = async () => {
    const columns = await db.executeQuery<{ name?: unknown; NAME?: unknown }>(
      CompiledQuery.raw(dialect.columnsSql, ['change_events']),
    )
    return columns.rows.some((r) => String(r.name ?? r.NAME) === 'feed_pos')
  }
  if (!(await hasPosition())) {
    try {
      for (const statement of dialect.feed.addPositionSql) await db.executeQuery(CompiledQuery.raw(statement))
    } catch (e) {
      // SQLite has no migration lock: another process added the column between our look and
      // our ALTER (its DDL is otherwise idempotent). Anything else is an error.
      if (!(await hasPosition())) throw e
    }
  }
  await createIndexIfMissing(db, dialect, 'change_events', 'change_events_feed', ['feed_pos', 'event_id'])
  await dropIndexIfPresent(db, dialect, 'change_events', 'change_events_undelivered')

  const sequencer = dialect.feed.sequencerTable
  if (sequencer !== undefined) {
    await db.schema
      .createTable(sequencer)
      .ifNotExists()
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('last_pos', 'bigint', (c) => c.notNull())
      .execute()
    const row = await db.selectFrom(sequencer).select('id').where('id', '=', 1).executeTakeFirst()
    if (row === undefined) {
      try {
        await db.insertInto(sequencer).values({ id: 1, last_pos: 0 }).execute()
      } catch (e) {
        if (dialect.classify(e)?.code !== 'conflict') throw e // another process inserted it
      }
    }
  }

  await db.schema
    .createTable('audited_consumers')
    .ifNotExists()
    .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('position', 'varchar(128)', (c) => c.notNull())
    .addColumn('lease_owner', 'varchar(128)')
    .addColumn('lease_token', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'varchar(500)')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute()
  await makeTextExact(db, dialect, ['audited_consumers'])
}

async function dropIndexIfPresent(
  // biome-ignore lint/suspicious/noExplicitAny: see addChangeFeed.
  db: Kysely<any>,
  dialect: Dialect,
  table: string,
  name: string,
): Promise<void> {
  const drop = db.schema.dropIndex(name)
  if (dialect.indexExistsSql === undefined) return drop.ifExists().execute()
  const r = await db.executeQuery(CompiledQuery.raw(dialect.indexExistsSql, [table, name]))
  if (r.rows.length > 0) await drop.on(table).execute()
}
