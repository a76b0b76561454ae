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

  /** The connection the statements belong to. */
  get database(): Database.Database {
    return this.#db
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

/** What every Kysely acquisition of one connection shares. */
interface Shared {
  readonly statements: StatementCache
  /** Waits for the writer lock (bounded like a pool's wait for a connection). */
  readonly take: () => Promise<void>
  readonly release: () => void
  /** Streams open on the connection. */
  streams: number
}

/**
 * One Kysely acquisition of the writer connection. It takes the writer lock only when it
 * needs it: a read on a connection that holds no open transaction runs at once (it is
 * synchronous, so nothing else runs on the connection meanwhile, and it sees the committed
 * file); a write, a transaction, a stream (it spans awaits, and the connection runs no other
 * statement while one is open) or a read while a transaction is open on the connection —
 * which it must not see — waits for the lock.
 */
class LeasedConnection implements DatabaseConnection {
  readonly #shared: Shared
  #holds = false

  constructor(shared: Shared) {
    this.#shared = shared
  }

  /** A read that may run now, without the lock: the connection is idle and outside a transaction. */
  #readsFreely(stmt: Database.Statement): boolean {
    return (
      stmt.reader &&
      stmt.readonly &&
      this.#shared.streams === 0 &&
      !this.#shared.statements.database.inTransaction
    )
  }

  /** Takes the lock for this acquisition, once. */
  async hold(): Promise<void> {
    if (this.#holds) return
    await this.#shared.take()
    this.#holds = true
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.#shared.statements.prepare(query.sql)
    if (!this.#holds && !this.#readsFreely(stmt)) await this.hold()
    if (stmt.reader) return { rows: stmt.all(query.parameters as unknown[]) as R[] }
    const { changes, lastInsertRowid } = stmt.run(query.parameters as unknown[])
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) }
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    await this.hold()
    const stmt = this.#shared.statements.prepare(query.sql)
    this.#shared.streams += 1
    try {
      for (const row of stmt.iterate(query.parameters as unknown[])) yield { rows: [row as R] }
    } finally {
      this.#shared.streams -= 1
    }
  }

  end(): void {
    if (!this.#holds) return
    this.#holds = false
    this.#shared.release()
  }
}

class LeasedDriver implements Driver {
  readonly #shared: Shared

  constructor(statements: StatementCache, lock: WriterLock, acquireTimeoutMs: number) {
    this.#shared = {
      statements,
      // The writer, waited for as long as a pool would wait for a connection (then
      // `unavailable` / `pool_exhausted`, as every other wait for a connection).
      take: () =>
        acquireWithTimeout(
          (stop) => lock.take('other', stop).then(() => ({ release: () => lock.release() })),
          acquireTimeoutMs,
        ).then(() => undefined),
      release: () => lock.release(),
      streams: 0,
    }
  }

  async init(): Promise<void> {}

  /** A lazy lease: the lock is taken by the first statement that needs it. */
  async acquireConnection(): Promise<DatabaseConnection> {
    return new LeasedConnection(this.#shared)
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as LeasedConnection).hold()
    await connection.executeQuery(CompiledQuery.raw('BEGIN IMMEDIATE'))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('COMMIT'))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('ROLLBACK'))
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    ;(connection as LeasedConnection).end()
  }

  async destroy(): Promise<void> {
    this.#shared.statements.close()
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
