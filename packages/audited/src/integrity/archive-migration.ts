import { CompiledQuery, type Kysely } from 'kysely'
import type { Dialect } from '../db/dialect.js'
import { createIndexIfMissing, makeTextExact } from '../db/schema-helpers.js'

/**
 * Migration 6: retention's archive (see integrity/purge.ts). A purge deletes events but keeps
 * their leaves, so the trees and every proof stay valid:
 * - `audited_log_leaves.segment_id`: set on the leaf of a purged event, naming the archive
 *   segment whose signed manifest covers it (null: the event is still stored);
 * - `audited_archive_segments`: one row per segment, holding its signed manifest (a C2SP
 *   signed note, see archive-manifest.ts) and the facts it states.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations address tables the typed schema does not know yet.
export async function addArchiveSegments(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const hasColumn = async () => {
    const columns = await db.executeQuery<{ name?: unknown; NAME?: unknown }>(
      CompiledQuery.raw(dialect.columnsSql, ['audited_log_leaves']),
    )
    return columns.rows.some((r) => String(r.name ?? r.NAME) === 'segment_id')
  }
  if (!(await hasColumn())) {
    try {
      await db.schema.alterTable('audited_log_leaves').addColumn('segment_id', 'varchar(26)').execute()
    } catch (e) {
      // SQLite has no migration lock: another process may have added it in between.
      if (!(await hasColumn())) throw e
    }
  }
  await db.schema
    .createTable('audited_archive_segments')
    .ifNotExists()
    .addColumn('segment_id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('log_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('first_leaf', 'bigint', (c) => c.notNull())
    .addColumn('last_leaf', 'bigint', (c) => c.notNull())
    .addColumn('leaf_count', 'bigint', (c) => c.notNull())
    .addColumn('file_name', 'varchar(255)')
    .addColumn('file_sha256', 'varchar(64)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .execute()
  await createIndexIfMissing(db, dialect, 'audited_archive_segments', 'audited_archive_segments_log', [
    'log_key',
    'first_leaf',
  ])
  await makeTextExact(db, dialect, ['audited_archive_segments'])
}
