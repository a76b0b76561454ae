import { type Kysely, sql } from 'kysely'
import { AuditedError } from '../core/errors.js'
import type { Dialect, DialectName } from './dialect.js'
import { createMysql } from './dialects/mysql.js'
import { createPostgres, type PoolOptions } from './dialects/postgres.js'
import { createSqlite, type SqliteOptions } from './dialects/sqlite.js'

export interface OpenDatabaseOptions {
  /** PostgreSQL / MySQL pool; for SQLite `acquireTimeoutMs` bounds the wait for the writer. */
  readonly pool?: PoolOptions
  readonly sqlite?: SqliteOptions
}

/** An open database: Kysely for your own queries, the dialect capabilities for the engine. */
export interface AuditedDatabase {
  // biome-ignore lint/suspicious/noExplicitAny: the schema is the application's; it types its own Kysely<DB>.
  readonly kysely: Kysely<any>
  readonly dialect: DialectName
  /** For reads that must never wait behind a write transaction: on SQLite a second,
   * read-only connection (committed data only); elsewhere the same pool as `kysely`. */
  // biome-ignore lint/suspicious/noExplicitAny: as `kysely`.
  readonly readKysely: Kysely<any>
  /** The capability object the engine uses; applications rarely need it. */
  readonly capabilities: Dialect
  /** Pool settings in force. */
  readonly acquireTimeoutMs: number
  close(): Promise<void>
}

/**
 * Opens `sqlite:<path>`, `sqlite::memory:`, `postgres://…` / `postgresql://…` or `mysql://…`.
 *
 * @example
 * const db = await openDatabase('sqlite:./data/app.db')
 * const pg = await openDatabase(process.env.DATABASE_URL!, { pool: { max: 20, acquireTimeoutMs: 1000 } })
 */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<AuditedDatabase> {
  const acquireTimeoutMs = options.pool?.acquireTimeoutMs ?? 2000
  const opened = openByScheme(url, options)
  // One round trip now: a wrong URL fails here, clearly, and Kysely takes ownership of the
  // pool (it ends only pools it has initialised, so `close()` would otherwise leak it).
  try {
    await sql`SELECT 1`.execute(opened.kysely)
  } catch (cause) {
    await opened.close().catch(() => {})
    throw (
      opened.dialect.classify(cause) ??
      new AuditedError('unavailable', 'The database cannot be reached.', { cause, retryAfterSeconds: 1 })
    )
  }
  return {
    kysely: opened.kysely,
    readKysely: opened.readKysely,
    dialect: opened.dialect.name,
    capabilities: opened.dialect,
    acquireTimeoutMs,
    close: opened.close,
  }
}

function openByScheme(url: string, options: OpenDatabaseOptions) {
  if (typeof url !== 'string') throw new AuditedError('validation', 'A database URL must be a string.')
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length)
    if (path === '')
      throw new AuditedError('validation', 'A SQLite URL needs a path: sqlite:<path> or sqlite::memory:.')
    return createSqlite(path, options.sqlite)
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return createPostgres(url, options.pool)
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    return createMysql(url.replace(/^mariadb:/, 'mysql:'), options.pool)
  }
  throw new AuditedError('validation', 'Unsupported database URL: use sqlite:, postgres:// or mysql://.', {
    details: { scheme: url.split(':')[0] },
  })
}
