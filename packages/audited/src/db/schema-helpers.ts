import { CompiledQuery, type Kysely } from 'kysely'
import { AuditedError } from '../core/errors.js'
import type { Dialect } from './dialect.js'

/**
 * Makes the tables' text columns compare exactly (no case or accent folding, no padding)
 * where the database's default collation does not (MySQL/MariaDB; elsewhere a no-op): for
 * an application's migrations too, so its unique keys and look-ups agree on every dialect.
 */
export async function makeTextExact(
  // biome-ignore lint/suspicious/noExplicitAny: see Migration.up.
  db: Kysely<any>,
  dialect: Dialect,
  tables: readonly string[],
): Promise<void> {
  if (dialect.exactText === undefined) return
  const r = await db.executeQuery<{ collation?: unknown }>(CompiledQuery.raw(dialect.exactText.collationSql))
  const collation = String(r.rows[0]?.collation)
  if (!/^[a-z0-9_]+$/.test(collation)) {
    throw new AuditedError('internal', 'The database named no exact collation.', { details: { collation } })
  }
  for (const table of tables) {
    await db.executeQuery(CompiledQuery.raw(dialect.exactText.convertSql(table, collation)))
  }
}

/** `CREATE INDEX IF NOT EXISTS`, also where the database lacks it (MySQL 8). */
export async function createIndexIfMissing(
  // biome-ignore lint/suspicious/noExplicitAny: see Migration.up.
  db: Kysely<any>,
  dialect: Dialect,
  table: string,
  name: string,
  columns: readonly string[],
): Promise<void> {
  const create = db.schema
    .createIndex(name)
    .on(table)
    .columns([...columns])
  if (dialect.indexExistsSql === undefined) return create.ifNotExists().execute()
  const r = await db.executeQuery(CompiledQuery.raw(dialect.indexExistsSql, [table, name]))
  if (r.rows.length === 0) await create.execute()
}
