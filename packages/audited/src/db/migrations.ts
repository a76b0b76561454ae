import { CompiledQuery, type Kysely, sql } from 'kysely'
import { CONTEXT_COLUMN_SIZES as CTX } from '../core/audit-context.js'
import { AuditedError } from '../core/errors.js'
import { addArchiveSegments } from '../integrity/archive-migration.js'
import { addIntegrityLogs } from '../integrity/log-migration.js'
import { addSubjectKeys } from '../privacy/subject-keys-migration.js'
import type { Dialect } from './dialect.js'
import { addChangeFeed } from './feed-migration.js'
import { createIndexIfMissing, makeTextExact } from './schema-helpers.js'

export { createIndexIfMissing, makeTextExact }

import type { AuditedDatabase } from './open-database.js'

/** One schema step. Steps are never edited once released: a change is a new step. */
export interface Migration {
  readonly id: number
  readonly name: string
  // biome-ignore lint/suspicious/noExplicitAny: migrations address tables the typed schema does not know yet.
  up(db: Kysely<any>, dialect: Dialect): Promise<void>
}

const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'change_events',
    async up(db, dialect) {
      const t = dialect.types
      const json = sql.raw(t.json)
      const ts = sql.raw(t.timestamp)
      // Context columns are as wide as `assertAuditContext` allows (one place, same numbers).
      const varchar = (n: number) => sql.raw(`varchar(${n})`)
      await db.schema
        .createTable('change_events')
        .ifNotExists()
        .addColumn('event_id', 'varchar(26)', (c) => c.primaryKey())
        .addColumn('hlc', 'bigint', (c) => c.notNull())
        .addColumn('wall_time', ts, (c) => c.notNull())
        .addColumn('node_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('tenant_id', varchar(CTX.tenantId))
        .addColumn('tx_id', 'varchar(26)', (c) => c.notNull())
        .addColumn('table_name', 'varchar(128)', (c) => c.notNull())
        .addColumn('record_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('operation', 'varchar(6)', (c) => c.notNull())
        .addColumn('action', 'varchar(32)', (c) => c.notNull())
        .addColumn('actor_id', varchar(CTX.actorId), (c) => c.notNull())
        .addColumn('actor_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('old_values', json)
        .addColumn('new_values', json)
        .addColumn('changed_fields', json)
        .addColumn('request_id', varchar(CTX.requestId))
        .addColumn('ip', varchar(CTX.ip))
        .addColumn('user_agent', varchar(CTX.userAgent))
        .addColumn('reason', varchar(CTX.reason))
        .addColumn('metadata', json)
        .addColumn('consumed_at', ts)
        .addColumn('synced_at', ts)
        .execute()
      const index = (name: string, columns: string[]) =>
        createIndexIfMissing(db, dialect, 'change_events', name, columns)
      // A record's history, a tenant's timeline, an actor's activity, the global cursor.
      await index('change_events_record', ['table_name', 'record_id', 'hlc'])
      await index('change_events_tenant', ['tenant_id', 'hlc'])
      await index('change_events_actor', ['tenant_id', 'actor_id', 'hlc'])
      await index('change_events_hlc', ['hlc', 'event_id'])
      // Undelivered events: a partial index where the database has them.
      if (dialect.supportsPartialIndexes) {
        await db.schema
          .createIndex('change_events_undelivered')
          .ifNotExists() // every dialect with partial indexes has IF NOT EXISTS
          .on('change_events')
          .columns(['hlc'])
          .where(sql.ref('consumed_at'), 'is', null)
          .execute()
      } else {
        await index('change_events_undelivered', ['consumed_at', 'hlc'])
      }
    },
  },
  {
    id: 2,
    name: 'change_events_record_order',
    // A record's events in their full order (hlc, then event_id for equal HLCs from two
    // nodes): history pages and `stateAt` read straight off this index. With only
    // (table_name, record_id, hlc), PostgreSQL sorted every event of the record (53 ms at
    // 40,000 events) to return one (issue 7 R4). It replaces that index (a prefix of it).
    async up(db, dialect) {
      await createIndexIfMissing(db, dialect, 'change_events', 'change_events_record_order', [
        'table_name',
        'record_id',
        'hlc',
        'event_id',
      ])
      const old = db.schema.dropIndex('change_events_record')
      if (dialect.indexExistsSql === undefined) await old.ifExists().execute()
      else {
        const r = await db.executeQuery(
          CompiledQuery.raw(dialect.indexExistsSql, ['change_events', 'change_events_record']),
        )
        if (r.rows.length > 0) await old.on('change_events').execute()
      }
    },
  },
  {
    id: 3,
    name: 'change_events_exact_text',
    // Tenant, record and actor ids are the caller's strings and must compare exactly: on
    // MySQL/MariaDB the default collations made `acme ` (and, with the server default,
    // `ACME` or `müller` / `muller`) read another tenant's events. Rebuilds the table there.
    up: (db, dialect) => makeTextExact(db, dialect, ['change_events']),
  },
  { id: 4, name: 'change_feed', up: addChangeFeed },
  { id: 5, name: 'integrity_logs', up: addIntegrityLogs },
  { id: 6, name: 'archive_segments', up: addArchiveSegments },
  { id: 7, name: 'subject_keys', up: addSubjectKeys },
  {
    id: 8,
    name: 'change_events_json_text',
    // The JSON columns keep the text the engine wrote (canonical JSON), so `verify` can
    // hash it as stored. PostgreSQL's jsonb reorders keys; its json keeps the text (events
    // are never queried inside their JSON). Rows converted here carry jsonb's text form:
    // they verify through the full read, as before.
    async up(db, dialect) {
      for (const statement of dialect.leafSql?.keepJsonTextSql ?? []) await sql.raw(statement).execute(db)
    },
  },
]

/**
 * Brings the database to the newest schema. Safe to run at every start and from several
 * processes at once: a database lock serialises runs (PostgreSQL advisory lock, MySQL
 * GET_LOCK; SQLite's DDL is idempotent) and applied steps are recorded in
 * `audited_migrations` and skipped.
 *
 * @example
 * const db = await openDatabase('sqlite:./app.db'); await migrate(db)
 */
export async function migrate(db: AuditedDatabase, extra: readonly Migration[] = []): Promise<number[]> {
  const lock = db.capabilities.migrationLock
  // One connection for the whole run, so a session-level lock covers every step.
  return db.kysely.connection().execute(async (k) => {
    if (lock !== undefined) {
      const { rows } = await sql.raw<{ acquired?: unknown }>(lock.lock).execute(k)
      // A lock statement that can give up (MySQL GET_LOCK: 0 on timeout, NULL when
      // interrupted) answers `acquired`; without the lock no step may run.
      const acquired = rows[0]?.acquired
      if (rows[0] !== undefined && 'acquired' in rows[0] && Number(acquired) !== 1) {
        throw new AuditedError(
          'unavailable',
          'Another process holds the migration lock (or the wait for it was interrupted); nothing was applied.',
          { details: { reason: 'migration_lock' }, retryAfterSeconds: 5 },
        )
      }
    }
    try {
      return await applyPending(k, db.capabilities, extra)
    } finally {
      if (lock !== undefined) await sql.raw(lock.unlock).execute(k)
    }
  })
}

async function applyPending(
  // biome-ignore lint/suspicious/noExplicitAny: see Migration.up.
  k: Kysely<any>,
  dialect: Dialect,
  extra: readonly Migration[],
): Promise<number[]> {
  await k.schema
    .createTable('audited_migrations')
    .ifNotExists()
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('applied_at', 'varchar(40)', (c) => c.notNull())
    .execute()
  const done = new Set(
    (await k.selectFrom('audited_migrations').select('id').execute()).map((r: { id: unknown }) =>
      Number(r.id),
    ),
  )
  const applied: number[] = []
  for (const m of [...MIGRATIONS, ...extra].sort((a, b) => a.id - b.id)) {
    if (done.has(m.id)) continue
    await m.up(k, dialect)
    try {
      await k
        .insertInto('audited_migrations')
        .values({ id: m.id, name: m.name, applied_at: new Date().toISOString() })
        .execute()
    } catch (e) {
      // SQLite has no lock across processes: another one applied the same step between
      // our read and our insert. Its statements are idempotent, so this is not an error.
      if (dialect.classify(e)?.code !== 'conflict') throw e
      continue
    }
    applied.push(m.id)
  }
  return applied
}
