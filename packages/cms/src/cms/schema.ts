import { createIndexIfMissing, type Migration, makeTextExact } from 'audited'
import { type CreateTableBuilder, sql } from 'kysely'
import { ENTRY_COUNTS, initialiseEntryCounts } from './entry-counts.js'
import { RETENTION_MIGRATION } from './retention-schema.js'
import { WEBHOOK_DELIVERY_MIGRATION } from './webhook-schema.js'

type Table = CreateTableBuilder<string, string>

/**
 * The CMS's tables. Application steps are numbered from 1000 so they never collide with
 * the library's own. Every table has a ULID `id`, `tenant_id` (except `tenants`), a
 * `version` the engine increments, and `created_at` / `updated_at` set by the services.
 */
export const CMS_MIGRATIONS: readonly Migration[] = [
  {
    id: 1000,
    name: 'cms_tables',
    async up(db, dialect) {
      const json = sql.raw(dialect.types.json)
      const ts = sql.raw(dialect.types.timestamp)
      const base = (name: string, tenant = true): Table => {
        const t: Table = db.schema
          .createTable(name)
          .ifNotExists()
          .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
        return tenant ? t.addColumn('tenant_id', 'varchar(26)', (c) => c.notNull()) : t
      }
      const stamps = (t: Table): Table =>
        t
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())

      await stamps(
        base('tenants', false)
          .addColumn('name', 'varchar(200)', (c) => c.notNull().unique())
          .addColumn('limits', json),
      ).execute()
      await stamps(
        base('users')
          .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
          .addColumn('password_hash', 'varchar(200)', (c) => c.notNull())
          .addColumn('role', 'varchar(20)', (c) => c.notNull())
          .addColumn('platform_admin', 'boolean', (c) => c.notNull().defaultTo(false))
          .addColumn('name', 'varchar(200)'),
      ).execute()
      await stamps(
        base('tokens')
          .addColumn('user_id', 'varchar(26)')
          .addColumn('name', 'varchar(200)', (c) => c.notNull())
          .addColumn('role', 'varchar(20)', (c) => c.notNull())
          .addColumn('kind', 'varchar(10)', (c) => c.notNull())
          .addColumn('platform_admin', 'boolean', (c) => c.notNull().defaultTo(false))
          .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
          .addColumn('expires_at', ts),
      ).execute()
      await stamps(
        base('content_types')
          .addColumn('key', 'varchar(64)', (c) => c.notNull())
          .addColumn('name', 'varchar(200)', (c) => c.notNull())
          .addColumn('fields', json, (c) => c.notNull())
          .addUniqueConstraint('content_types_tenant_key', ['tenant_id', 'key']),
      ).execute()
      await stamps(
        base('entries')
          .addColumn('type', 'varchar(64)', (c) => c.notNull())
          .addColumn('locale', 'varchar(16)', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('data', json, (c) => c.notNull()),
      ).execute()
      // Values of `unique` entry fields, one row each, keyed by a hash of (tenant, type,
      // field, value): the primary key enforces uniqueness per tenant on every dialect (JSON
      // columns cannot carry a unique index portably), written in the entry's transaction.
      await db.schema
        .createTable('entry_unique_values')
        .ifNotExists()
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
        .addColumn('type', 'varchar(64)', (c) => c.notNull())
        .addColumn('field', 'varchar(64)', (c) => c.notNull())
        .addColumn('entry_id', 'varchar(26)', (c) => c.notNull())
        .execute()
      await stamps(
        base('locales')
          .addColumn('code', 'varchar(16)', (c) => c.notNull())
          .addColumn('name', 'varchar(100)', (c) => c.notNull())
          .addUniqueConstraint('locales_tenant_code', ['tenant_id', 'code']),
      ).execute()
      await stamps(
        base('media')
          .addColumn('filename', 'varchar(255)', (c) => c.notNull())
          .addColumn('mime', 'varchar(100)', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('checksum', 'varchar(128)', (c) => c.notNull())
          .addColumn('url', 'varchar(2000)', (c) => c.notNull()),
      ).execute()
      await stamps(
        base('webhooks')
          .addColumn('url', 'varchar(2000)', (c) => c.notNull())
          .addColumn('events', json, (c) => c.notNull())
          .addColumn('secret', 'varchar(200)', (c) => c.notNull())
          .addColumn('active', 'boolean', (c) => c.notNull()),
      ).execute()
      const index = (name: string, table: string, columns: string[]) =>
        createIndexIfMissing(db, dialect, table, name, columns)
      await index('entries_list', 'entries', ['tenant_id', 'type', 'status', 'id'])
      await index('entries_locale', 'entries', ['tenant_id', 'type', 'locale', 'id'])
      await index('users_tenant', 'users', ['tenant_id', 'id'])
      await index('tokens_tenant', 'tokens', ['tenant_id', 'id'])
    },
  },
  {
    id: 1001,
    name: 'entry_unique_values_by_entry',
    // Entry updates and deletes look their unique-value rows up by entry.
    up: (db, dialect) =>
      createIndexIfMissing(db, dialect, 'entry_unique_values', 'entry_unique_values_entry', [
        'tenant_id',
        'entry_id',
      ]),
  },
  {
    id: 1002,
    name: 'tokens_by_expiry',
    // The expired-session purge reads sessions by expiry (src/cms/sessions.ts).
    up: (db, dialect) => createIndexIfMissing(db, dialect, 'tokens', 'tokens_expiry', ['kind', 'expires_at']),
  },
  {
    id: 1003,
    name: 'entry_list_order_and_entry_counts',
    async up(db, dialect) {
      // A list without a status filter reads (tenant, type) in id order: this index is
      // that order, so a page is an index range of `limit` rows (src/cms/entry-list.ts).
      await createIndexIfMissing(db, dialect, 'entries', 'entries_by_type', ['tenant_id', 'type', 'id'])
      // Entries per tenant with a quota, kept by the write limiter in every entry write's
      // transaction (src/cms/entry-counts.ts): the quota check updates one row, not a count.
      await db.schema
        .createTable(ENTRY_COUNTS)
        .ifNotExists()
        .addColumn('tenant_id', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('entry_count', 'bigint', (c) => c.notNull())
        .execute()
      await initialiseEntryCounts(db)
    },
  },
  {
    id: 1004,
    name: 'tokens_credentials_fingerprint',
    // A session records a fingerprint of the password hash it was issued for; the token
    // look-up compares it with the user's current hash (src/server/principal.ts). Sessions
    // issued before this step have none and must sign in again.
    up: (db) => db.schema.alterTable('tokens').addColumn('credentials_fingerprint', 'varchar(64)').execute(),
  },
  {
    id: 1005,
    name: 'cms_exact_text',
    // As library migration 3 for change_events: names, e-mails, keys and codes compare
    // exactly on MySQL/MariaDB too (their collations pad, and by default fold case and
    // accents), so a unique key or a look-up answers the same as on SQLite and PostgreSQL.
    up: (db, dialect) =>
      makeTextExact(db, dialect, [
        'tenants',
        'users',
        'tokens',
        'content_types',
        'entries',
        'entry_unique_values',
        'locales',
        'media',
        'webhooks',
        ENTRY_COUNTS,
      ]),
  },
  WEBHOOK_DELIVERY_MIGRATION,
  RETENTION_MIGRATION,
]
