import { createIndexIfMissing, type Migration, makeTextExact } from 'audited'
import { sql } from 'kysely'

/**
 * CMS migration 1007: retention (src/cms/retention-entities.ts). `retention_policies`: one
 * row per tenant that has a policy (its id is the tenant's); `legal_holds`: what must never
 * be purged; `retention_runs`: each run that purged something, naming its manifests. The
 * archive itself (segments, purge markings) is the library's migration 6.
 */
export const RETENTION_MIGRATION: Migration = {
  id: 1007,
  name: 'retention',
  async up(db, dialect) {
    const json = sql.raw(dialect.types.json)
    const ts = sql.raw(dialect.types.timestamp)
    await db.schema
      .createTable('retention_policies')
      .ifNotExists()
      .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
      .addColumn('keep_days', 'integer', (c) => c.notNull())
      .addColumn('archive', 'boolean', (c) => c.notNull())
      .addColumn('tables', json, (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('legal_holds')
      .ifNotExists()
      .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
      .addColumn('scope', 'varchar(16)', (c) => c.notNull())
      .addColumn('table_name', 'varchar(128)')
      .addColumn('record_id', 'varchar(255)')
      .addColumn('actor_id', 'varchar(255)')
      .addColumn('reason', 'varchar(500)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('retention_runs')
      .ifNotExists()
      .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('tenant_id', 'varchar(26)', (c) => c.notNull())
      .addColumn('keep_days', 'integer', (c) => c.notNull())
      .addColumn('archive', 'boolean', (c) => c.notNull())
      .addColumn('purged', 'integer', (c) => c.notNull())
      .addColumn('held', 'integer', (c) => c.notNull())
      .addColumn('refused', 'integer', (c) => c.notNull())
      .addColumn('segments', json, (c) => c.notNull())
      .addColumn('refused_events', json, (c) => c.notNull())
      .addColumn('started_at', ts, (c) => c.notNull())
      .addColumn('finished_at', ts, (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at', ts, (c) => c.notNull())
      .addColumn('updated_at', ts, (c) => c.notNull())
      .execute()
    await createIndexIfMissing(db, dialect, 'legal_holds', 'legal_holds_tenant', ['tenant_id', 'id'])
    await createIndexIfMissing(db, dialect, 'retention_runs', 'retention_runs_tenant', ['tenant_id', 'id'])
    await makeTextExact(db, dialect, ['retention_policies', 'legal_holds', 'retention_runs'])
  },
}
