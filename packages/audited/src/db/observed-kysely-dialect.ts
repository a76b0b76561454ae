import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely'
import type { DatabaseHealth } from './health.js'

/** A connection whose every query reports its outcome. */
class ObservedConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection
  readonly #health: DatabaseHealth

  constructor(inner: DatabaseConnection, health: DatabaseHealth) {
    this.#inner = inner
    this.#health = health
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const result = await this.#inner.executeQuery<R>(query)
      this.#health.observe()
      return result
    } catch (error) {
      this.#health.observe(error)
      throw error
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.streamQuery<R>(query, chunkSize)
  }
}

class ObservedDriver implements Driver {
  readonly #inner: Driver
  readonly #health: DatabaseHealth
  readonly #wrapped = new WeakMap<DatabaseConnection, ObservedConnection>()
  readonly #unwrapped = new WeakMap<DatabaseConnection, DatabaseConnection>()

  constructor(inner: Driver, health: DatabaseHealth) {
    this.#inner = inner
    this.#health = health
  }

  init(): Promise<void> {
    return this.#inner.init()
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    let connection: DatabaseConnection
    try {
      connection = await this.#inner.acquireConnection()
    } catch (error) {
      this.#health.observe(error) // a connection that could not be made
      throw error
    }
    let observed = this.#wrapped.get(connection)
    if (observed === undefined) {
      observed = new ObservedConnection(connection, this.#health)
      this.#wrapped.set(connection, observed)
      this.#unwrapped.set(observed, connection)
    }
    return observed
  }

  #unwrap(connection: DatabaseConnection): DatabaseConnection {
    return this.#unwrapped.get(connection) ?? connection
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.#inner.beginTransaction(this.#unwrap(connection), settings)
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.commitTransaction(this.#unwrap(connection))
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(this.#unwrap(connection))
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(this.#unwrap(connection))
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return this.#savepoints().savepoint(this.#unwrap(connection), name, compile)
  }

  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return this.#savepoints().rollbackToSavepoint(this.#unwrap(connection), name, compile)
  }

  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return this.#savepoints().releaseSavepoint(this.#unwrap(connection), name, compile)
  }

  #savepoints(): Required<Pick<Driver, 'savepoint' | 'rollbackToSavepoint' | 'releaseSavepoint'>> {
    const { savepoint, rollbackToSavepoint, releaseSavepoint } = this.#inner
    if (savepoint === undefined || rollbackToSavepoint === undefined || releaseSavepoint === undefined)
      throw new Error('This database driver does not support savepoints.')
    return {
      savepoint: savepoint.bind(this.#inner),
      rollbackToSavepoint: rollbackToSavepoint.bind(this.#inner),
      releaseSavepoint: releaseSavepoint.bind(this.#inner),
    }
  }

  destroy(): Promise<void> {
    return this.#inner.destroy()
  }
}

/** A Kysely dialect whose queries report their outcome to `health` (for the breaker). */
export function observedDialect(inner: Dialect, health: DatabaseHealth): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createDriver: () => new ObservedDriver(inner.createDriver(), health),
    createQueryCompiler: () => inner.createQueryCompiler(),
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface takes Kysely<any>.
    createIntrospector: (db: Kysely<any>) => inner.createIntrospector(db),
  }
}
