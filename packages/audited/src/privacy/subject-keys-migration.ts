import type { Kysely } from 'kysely'
import type { Dialect } from '../db/dialect.js'
import { createIndexIfMissing, makeTextExact } from '../db/schema-helpers.js'

/**
 * Migration 7: one data key per data subject (`audited_subject_keys`), wrapped by the master
 * key. Erasing a subject deletes its row: every personal value encrypted under it is
 * unreadable from then on (crypto-shredding), while the events — and their leaf hashes —
 * stay as they were.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations address tables the typed schema does not know yet.
export async function addSubjectKeys(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('audited_subject_keys')
    .ifNotExists()
    .addColumn('key_id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('subject_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('wrapped_key', 'varchar(100)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute()
  await createIndexIfMissing(db, dialect, 'audited_subject_keys', 'audited_subject_keys_subject', [
    'tenant_key',
    'subject_id',
  ])
  await makeTextExact(db, dialect, ['audited_subject_keys'])
}
