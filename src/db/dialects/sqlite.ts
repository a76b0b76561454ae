import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { AuditedError } from '../../core/errors.js'
import { acquireWithTimeout } from '../acquire.js'
import type { Dialect, Lease, Session, Statement, StatementResult } from '../dialect.js'

export interface SqliteOptions {
  /** `normal` (default) or `full`. With WAL, `normal` may lose the last commits on power
   * loss but never splits a write from its event: both are in the same WAL frame set. */
  readonly synchronous?: 'normal' | 'full'
  /** How long SQLite waits for another process's write lock (ms). */
  readonly busyTimeoutMs?: number
}

/** better-sqlite3 prepares a statement on every call; hot statements are cached here. */
class StatementCache {
  readonly #db: Database.Database
  readonly #cache = new Map<string, Database.Statement>()

  constructor(db: Database.Database) {
    this.#db = db
  }

  prepare(sql: string): Database.Statement {
    let stmt = this.#cache.get(sql)
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql)
      if (this.#cache.size >= 1000) this.#cache.delete(this.#cache.keys().next().value as string)
      this.#cache.set(sql, stmt)
    }
    return stmt
  }

  close(): void {
    this.#cache.clear()
    this.#db.close()
  }
}

const SQLITE_CODES: Record<string, [AuditedError['code'], string, boolean?]> = {
  SQLITE_CONSTRAINT_UNIQUE: ['conflict', 'A record with the same unique value already exists.'],
  SQLITE_CONSTRAINT_PRIMARYKEY: ['conflict', 'A record with the same key already exists.'],
  SQLITE_CONSTRAINT_FOREIGNKEY: ['conflict', 'The write breaks a reference to another record.'],
  SQLITE_CONSTRAINT_NOTNULL: ['validation', 'A required field is missing.'],
  SQLITE_CONSTRAINT_CHECK: ['validation', 'A field value breaks a check.'],
  SQLITE_MISMATCH: ['validation', 'A field has the wrong type.'],
  SQLITE_TOOBIG: ['validation', 'A value is too large.'],
  SQLITE_BUSY: ['unavailable', 'The database is busy.', true],
  SQLITE_BUSY_SNAPSHOT: ['unavailable', 'The database is busy.', true],
  SQLITE_LOCKED: ['unavailable', 'The database is locked.', true],
}

export function createSqlite(path: string, options: SqliteOptions = {}) {
  const raw = new Database(path)
  if (path !== ':memory:') raw.pragma('journal_mode = WAL')
  raw.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  raw.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`)
  raw.pragma('foreign_keys = ON')
  const statements = new StatementCache(raw)
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: statements }) })

  const session: Session = {
    async run(list: readonly Statement[]): Promise<StatementResult[]> {
      const results: StatementResult[] = []
      for (const { sql, parameters } of list) {
        const stmt = statements.prepare(sql)
        if (stmt.reader) {
          const rows = stmt.all(parameters as unknown[]) as Record<string, unknown>[]
          results.push({ rows, affected: rows.length })
        } else {
          const info = stmt.run(parameters as unknown[])
          results.push({ rows: [], affected: Number(info.changes) })
        }
      }
      return results
    },
  }

  /** SQLite has one writer: the lease is Kysely's connection mutex, held until release, so
   * no other query (the engine's or the application's) can run inside an open transaction. */
  const take = () =>
    new Promise<Lease>((resolve, reject) => {
      kysely
        .connection()
        .execute(() => new Promise<void>((done) => resolve({ session, release: () => done() })))
        .catch(reject)
    })

  const dialect: Dialect = {
    name: 'sqlite',
    supportsReturning: true,
    supportsRowLocks: false,
    supportsPartialIndexes: true,
    beginSql: 'BEGIN IMMEDIATE',
    types: { json: 'text', timestamp: 'text', text: 'text' },
    columnsSql: 'SELECT name FROM pragma_table_info(?)',
    maxParameters: 32_000,
    bigintAsText: (column) => `CAST(${column} AS TEXT)`,
    bigintParameter: (value) => value,
    toParameter(value) {
      if (typeof value === 'boolean') return value ? 1 : 0
      if (value instanceof Date) return value.toISOString()
      return value
    },
    classify(error) {
      const code = (error as { code?: unknown })?.code
      if (typeof code !== 'string') return undefined
      const known = SQLITE_CODES[code]
      if (known === undefined) return undefined
      return new AuditedError(known[0], known[1], { cause: error, retryable: known[2] })
    },
    isRetryableTransactionError: () => false,
    acquire: (timeoutMs) => acquireWithTimeout(take, timeoutMs),
  }
  return { kysely, dialect, close: async () => kysely.destroy() }
}
