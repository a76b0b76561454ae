/**
 * The URL of a fixture's database, for a child process (the CLI) to open the same database
 * the test holds open: the SQLite file, or the test's own PostgreSQL / MariaDB database.
 */
import { sql } from 'kysely'
import type { DialectName } from '../packages/audited/src/db/dialect.js'
import type { AuditedDatabase } from '../packages/audited/src/db/open-database.js'
import { MYSQL_URL, PG_URL } from './setup.js'

export async function databaseUrlOf(dialect: DialectName, db: AuditedDatabase): Promise<string> {
  if (dialect === 'sqlite') {
    const r = await sql<{ name: string; file: string }>`PRAGMA database_list`.execute(db.kysely)
    return `sqlite:${r.rows.find((row) => row.name === 'main')!.file}`
  }
  const url = new URL(dialect === 'postgres' ? PG_URL : MYSQL_URL)
  const current = dialect === 'postgres' ? sql`current_database()` : sql`DATABASE()`
  const r = await sql<{ d: string }>`SELECT ${current} AS d`.execute(db.kysely)
  url.pathname = `/${r.rows[0]!.d}`
  return url.toString()
}
