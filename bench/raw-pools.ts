/**
 * The baselines' database access: the raw drivers, held the way the engine holds them
 * (one exclusively leased connection per transaction), with prepared statements and one
 * driver call — one round trip on a server — per statement.
 */
import Database from 'better-sqlite3'
import mysql from 'mysql2/promise'
import pg from 'pg'

/** A statement of the baselines; `name` is its prepared-statement name on PostgreSQL. */
export interface RawStatement {
  readonly name: string
  readonly sql: string
}

export interface RawResult {
  readonly rows: readonly Record<string, unknown>[]
  readonly affected: number
}

export interface RawConnection {
  run(statement: RawStatement, params: readonly unknown[]): Promise<RawResult>
}

/** Driver calls made and statements sent (equal for the baselines: one statement per call). */
export interface TripCounter {
  trips: number
  statements: number
}

export interface RawPool {
  readonly counter: TripCounter
  /** Runs `fn` on one connection held exclusively until it settles. */
  withConnection<T>(fn: (conn: RawConnection) => Promise<T>): Promise<T>
  close(): Promise<void>
}

const newCounter = (): TripCounter => ({ trips: 0, statements: 0 })

/** A FIFO lock: SQLite has one writer, so the baselines queue for it as the engine does. */
class Mutex {
  #tail: Promise<void> = Promise.resolve()

  lock(): Promise<() => void> {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const acquired = this.#tail.then(() => release)
    this.#tail = held
    return acquired
  }
}

/** The same pragmas `openDatabase` sets on its SQLite handle. */
export function openSqlitePool(file: string): RawPool {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  const prepared = new Map<string, Database.Statement<unknown[]>>()
  const prepare = (text: string) => {
    let stmt = prepared.get(text)
    if (stmt === undefined) {
      stmt = db.prepare<unknown[]>(text)
      prepared.set(text, stmt)
    }
    return stmt
  }
  const counter = newCounter()
  const conn: RawConnection = {
    async run(statement, params) {
      counter.trips += 1
      counter.statements += 1
      const stmt = prepare(statement.sql)
      if (stmt.reader) return { rows: stmt.all(...params) as Record<string, unknown>[], affected: 0 }
      return { rows: [], affected: stmt.run(...params).changes }
    },
  }
  const writer = new Mutex()
  return {
    counter,
    async withConnection(fn) {
      const release = await writer.lock()
      try {
        return await fn(conn)
      } finally {
        release()
      }
    },
    async close() {
      db.close()
    },
  }
}

/** pg.Pool; statements with parameters run as named prepared statements (prepared once per
 * connection, then Bind/Execute only). */
export function openPostgresPool(url: string, max: number): RawPool {
  const pool = new pg.Pool({ connectionString: url, max })
  pool.on('error', () => {}) // an idle client dropping must not crash the bench
  const counter = newCounter()
  const connection = (client: pg.PoolClient): RawConnection => ({
    async run(statement, params) {
      counter.trips += 1
      counter.statements += 1
      const r =
        params.length === 0
          ? await client.query(statement.sql)
          : await client.query({ name: statement.name, text: statement.sql, values: [...params] })
      return { rows: r.rows, affected: r.rowCount ?? 0 }
    },
  })
  return {
    counter,
    async withConnection(fn) {
      const client = await pool.connect()
      try {
        return await fn(connection(client))
      } finally {
        client.release()
      }
    },
    close: () => pool.end(),
  }
}

/** Narrows a bound value to what mysql2 `execute` accepts. */
function executeValue(value: unknown): mysql.ExecuteValues {
  if (value === null || value instanceof Date || Buffer.isBuffer(value)) return value
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
      return value
    default:
      throw new TypeError(`mysql baseline cannot bind a ${typeof value}`)
  }
}

function toRawResult(result: unknown): RawResult {
  if (Array.isArray(result)) return { rows: result as Record<string, unknown>[], affected: 0 }
  const affected = (result as { affectedRows?: unknown } | null)?.affectedRows
  return { rows: [], affected: typeof affected === 'number' ? affected : 0 }
}

/** mysql2 pool; statements with parameters run through `execute` (server-side prepared
 * statements, cached per connection), transaction control through `query`. */
export function openMysqlPool(url: string, max: number): RawPool {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: max,
    waitForConnections: true,
    queueLimit: 0,
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: 'Z',
  })
  const counter = newCounter()
  const connection = (conn: mysql.PoolConnection): RawConnection => ({
    async run(statement, params) {
      counter.trips += 1
      counter.statements += 1
      const [result] =
        params.length === 0
          ? await conn.query(statement.sql)
          : await conn.execute(statement.sql, params.map(executeValue))
      return toRawResult(result)
    },
  })
  return {
    counter,
    async withConnection(fn) {
      const conn = await pool.getConnection()
      try {
        return await fn(connection(conn))
      } finally {
        conn.release()
      }
    },
    close: () => pool.end(),
  }
}
