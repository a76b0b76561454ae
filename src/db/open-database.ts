import { type Kysely, sql } from 'kysely'
import { AuditedError } from '../core/errors.js'
import type { Dialect, DialectName } from './dialect.js'
import { createMysql } from './dialects/mysql.js'
import { createPostgres, type PoolOptions } from './dialects/postgres.js'
import { createSqlite, type SqliteOptions, sqliteFilePath } from './dialects/sqlite.js'
import { DatabaseHealth, observeDialect } from './health.js'

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
  /** The outcome of every database call (answered / unreachable), for circuit breakers. */
  readonly health: DatabaseHealth
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
  const health = new DatabaseHealth()
  const opened = openByScheme(url, options, health)
  health.bind(opened.dialect.classify)
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
    capabilities: observeDialect(opened.dialect, health),
    acquireTimeoutMs,
    health,
    close: opened.close,
  }
}

function openByScheme(url: string, options: OpenDatabaseOptions, health: DatabaseHealth) {
  if (typeof url !== 'string') throw new AuditedError('validation', 'A database URL must be a string.')
  const sqlitePath = sqliteFilePath(url)
  if (sqlitePath !== undefined) return createSqlite(sqlitePath, options.sqlite ?? {}, health)
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return createPostgres(url, options.pool ?? {}, health)
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    return createMysql(url.replace(/^mariadb:/, 'mysql:'), options.pool ?? {}, health)
  }
  throw new AuditedError('validation', 'Unsupported database URL: use sqlite:, postgres:// or mysql://.', {
    details: { scheme: url.split(':')[0] },
  })
}
