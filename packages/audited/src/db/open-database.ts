import { type Kysely, sql } from 'kysely'
import { AuditedError } from '../core/errors.js'
import type { Dialect, DialectName } from './dialect.js'
import { connectByUrl } from './dialects/connect.js'
import type { PoolOptions } from './dialects/postgres.js'
import type { SqliteOptions } from './dialects/sqlite.js'
import { DatabaseHealth, observeDialect, UNREACHABLE } from './health.js'
import { rememberOpening } from './reopen.js'

export interface OpenDatabaseOptions {
  /** PostgreSQL / MySQL pool; for SQLite `acquireTimeoutMs` bounds the wait for the writer. */
  readonly pool?: PoolOptions
  readonly sqlite?: SqliteOptions
}

/**
 * An open database: Kysely for your own queries, the dialect capabilities for the engine.
 * `DB` is your schema's Kysely type (`openDatabase<DB>(url)`); without one, queries are untyped.
 */
// biome-ignore lint/suspicious/noExplicitAny: the schema is the application's; untyped unless it gives DB.
export interface AuditedDatabase<DB = any> {
  readonly kysely: Kysely<DB>
  readonly dialect: DialectName
  /** For reads that must never wait behind a write transaction: on SQLite a second,
   * read-only connection (committed data only); elsewhere the same pool as `kysely`. */
  readonly readKysely: Kysely<DB>
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
// biome-ignore lint/suspicious/noExplicitAny: as AuditedDatabase.
export async function openDatabase<DB = any>(
  url: string,
  options: OpenDatabaseOptions = {},
): Promise<AuditedDatabase<DB>> {
  const acquireTimeoutMs = options.pool?.acquireTimeoutMs ?? 2000
  const health = new DatabaseHealth()
  const opened = await connectByUrl(url, options, health)
  health.bind(opened.dialect.classify)
  // One round trip now: a wrong URL fails here, clearly, and Kysely takes ownership of the
  // pool (it ends only pools it has initialised, so `close()` would otherwise leak it).
  try {
    await sql`SELECT 1`.execute(opened.kysely)
  } catch (cause) {
    await opened.close().catch(() => {})
    throw (
      opened.dialect.classify(cause) ??
      new AuditedError('unavailable', 'The database cannot be reached.', {
        details: { reason: UNREACHABLE },
        cause,
        retryAfterSeconds: 1,
      })
    )
  }
  const handle: AuditedDatabase<DB> = {
    // The schema type is the caller's promise about its tables; Kysely checks queries against it.
    kysely: opened.kysely as unknown as Kysely<DB>,
    readKysely: opened.readKysely as unknown as Kysely<DB>,
    dialect: opened.dialect.name,
    capabilities: observeDialect(opened.dialect, health),
    acquireTimeoutMs,
    health,
    close: opened.close,
  }
  rememberOpening(handle, url, options)
  return handle
}
