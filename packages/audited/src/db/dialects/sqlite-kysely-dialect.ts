import type Database from 'better-sqlite3'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely'
import { BoundedMap } from '../../core/bounded-map.js'
import { acquireWithTimeout } from '../acquire.js'
import type { WriterLock } from '../writer-lock.js'

/** Prepared statements by SQL text: better-sqlite3 would otherwise prepare on every call. */
export class StatementCache {
  readonly #db: Database.Database
  readonly #cache = new BoundedMap<string, Database.Statement>(1000)

  constructor(db: Database.Database) {
    this.#db = db
  }

  prepare(sql: string): Database.Statement {
    let stmt = this.#cache.get(sql)
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql)
      this.#cache.set(sql, stmt)
    }
    return stmt
  }

  close(): void {
    this.#cache.clear()
    this.#db.close()
  }
}

class LeasedConnection implements DatabaseConnection {
  readonly #statements: StatementCache

  constructor(statements: StatementCache) {
    this.#statements = statements
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.#statements.prepare(query.sql)
    if (stmt.reader) return { rows: stmt.all(query.parameters as unknown[]) as R[] }
    const { changes, lastInsertRowid } = stmt.run(query.parameters as unknown[])
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) }
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const stmt = this.#statements.prepare(query.sql)
    for (const row of stmt.iterate(query.parameters as unknown[])) yield { rows: [row as R] }
  }
}

class LeasedDriver implements Driver {
  readonly #statements: StatementCache
  readonly #lock: WriterLock
  readonly #connection: LeasedConnection
  readonly #acquireTimeoutMs: number

  constructor(statements: StatementCache, lock: WriterLock, acquireTimeoutMs: number) {
    this.#statements = statements
    this.#lock = lock
    this.#connection = new LeasedConnection(statements)
    this.#acquireTimeoutMs = acquireTimeoutMs
  }

  async init(): Promise<void> {}

  /** The writer, waited for as long as a pool would wait for a connection (then
   * `unavailable` / `pool_exhausted`, as every other wait for a connection). */
  async acquireConnection(): Promise<DatabaseConnection> {
    const lock = this.#lock
    await acquireWithTimeout(
      (stop) => lock.take('other', stop).then(() => ({ release: () => lock.release() })),
      this.#acquireTimeoutMs,
    )
    return this.#connection
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('BEGIN IMMEDIATE'))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('COMMIT'))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('ROLLBACK'))
  }

  async releaseConnection(): Promise<void> {
    this.#lock.release()
  }

  async destroy(): Promise<void> {
    this.#statements.close()
  }
}

/**
 * Kysely's SQLite dialect with the connection guarded by the engine's `WriterLock`
 * (a FIFO queue; Kysely's own mutex wakes every waiter on each release) and prepared
 * statements cached.
 */
export class LeasedSqliteDialect implements Dialect {
  readonly #statements: StatementCache
  readonly #lock: WriterLock
  readonly #acquireTimeoutMs: number

  constructor(statements: StatementCache, lock: WriterLock, acquireTimeoutMs: number) {
    this.#statements = statements
    this.#lock = lock
    this.#acquireTimeoutMs = acquireTimeoutMs
  }

  createAdapter() {
    return new SqliteAdapter()
  }

  createDriver(): Driver {
    return new LeasedDriver(this.#statements, this.#lock, this.#acquireTimeoutMs)
  }

  createQueryCompiler() {
    return new SqliteQueryCompiler()
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface takes Kysely<any>.
  createIntrospector(db: Kysely<any>) {
    return new SqliteIntrospector(db)
  }
}
