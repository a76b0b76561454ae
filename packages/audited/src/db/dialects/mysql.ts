import { Kysely, MysqlDialect } from 'kysely'
import mysql from 'mysql2'
import { AuditedError } from '../../core/errors.js'
import { type WaitOptions, waitBounded } from '../acquire.js'
import { type Classification, classified } from '../classification.js'
import type { Dialect, Session, Statement, StatementResult } from '../dialect.js'
import { type DatabaseHealth, UNREACHABLE } from '../health.js'
import { observedDialect } from '../observed-kysely-dialect.js'
import { MYSQL_FEED } from './feed-positions.js'
import { MYSQL_LEAF_SQL } from './leaf-sql.js'
import { MysqlPoolStats } from './mysql-pool-stats.js'
import type { PoolOptions } from './postgres.js'

/** errno → catalogue (MySQL 8 and MariaDB 10.11 share these numbers). */
const MYSQL_ERRNOS: Record<number, Classification> = {
  1062: ['conflict', 'unique', 'A record with the same unique value already exists.'],
  1022: ['conflict', 'unique', 'A record with the same key already exists.'],
  1586: ['conflict', 'unique', 'A record with the same unique value already exists.'],
  1451: ['conflict', 'foreign_key', 'The write breaks a reference to another record.'],
  1452: ['conflict', 'foreign_key', 'The write breaks a reference to another record.'],
  1216: ['conflict', 'foreign_key', 'The write breaks a reference to another record.'],
  1217: ['conflict', 'foreign_key', 'The write breaks a reference to another record.'],
  1048: ['validation', 'A required field is missing.'],
  1364: ['validation', 'A required field is missing.'],
  1406: ['validation', 'A value is too long for its field.'],
  1366: ['validation', 'A field has the wrong type.'],
  1264: ['validation', 'A number is out of range.'],
  1265: ['validation', 'A value was truncated.'],
  1292: ['validation', 'A date or number is malformed.'],
  3140: ['validation', 'A JSON value is malformed.'],
  3819: ['validation', 'A field value breaks a check.'],
  4025: ['validation', 'A field value breaks a check.'],
  1213: ['conflict', 'deadlock', 'The write deadlocked with another one; retry it.'],
  // MariaDB's snapshot isolation: the row changed since this transaction read it.
  1020: ['conflict', 'serialization', 'The write raced another one; retry it.'],
  // innodb_lock_wait_timeout and max_statement_time share one limit: one reason, as on PostgreSQL.
  1205: ['unavailable', 'statement_timeout', 'A record stayed locked too long.'],
  1969: ['unavailable', 'statement_timeout', 'The database took too long to answer.'],
  3024: ['unavailable', 'statement_timeout', 'The database took too long to answer.'],
  1317: ['unavailable', 'statement_timeout', 'The statement was interrupted.'],
  1040: ['unavailable', 'out_of_resources', 'The database has no free connections.'],
  1203: ['unavailable', 'out_of_resources', 'The database has no free connections for this user.'],
  1041: ['unavailable', 'out_of_resources', 'The database is out of memory.'],
  1021: ['unavailable', 'out_of_resources', 'The database disk is full.'],
  1114: ['unavailable', 'out_of_resources', 'The table is full.'],
  // The server going away or killing the connection, as PostgreSQL's 57P01.
  1053: ['unavailable', 'unreachable', 'The database is shutting down.'],
  1927: ['unavailable', 'unreachable', 'The database connection was killed.'],
  4031: ['unavailable', 'unreachable', 'The database closed the connection.'],
}
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ENOTFOUND',
  // our query timeout (below): the server answered nothing long after its own statement cap
  'PROTOCOL_SEQUENCE_TIMEOUT',
])

type MysqlResult = mysql.ResultSetHeader | Record<string, unknown>[]

function toStatementResult(r: MysqlResult): StatementResult {
  return Array.isArray(r)
    ? { rows: r, affected: 0 }
    : { rows: [], affected: r.affectedRows, insertId: r.insertId }
}

/** JSON columns come back as text; the engine parses them itself, exactly once. */
const rawJson: mysql.TypeCast = (field, next) =>
  // MySQL flags JSON by type; MariaDB (JSON = LONGTEXT) by its extended metadata.
  field.type === 'JSON' || (field as { extendedFormat?: string }).extendedFormat === 'json'
    ? field.string('utf8')
    : next()

/** The migration lock's name: one per database. */
const MIGRATION_LOCK_NAME = "CONCAT('audited_migrate:', LEFT(SHA1(DATABASE()), 40))"

export function createMysql(url: string, options: PoolOptions, health: DatabaseHealth) {
  const lockWaitSeconds = Math.max(1, Math.ceil((options.statementTimeoutMs ?? 5000) / 1000))
  // As on PostgreSQL: a connection that goes silent (a partition dropping packets, a hung
  // server) fails its query well after the server's own caps instead of holding it (and
  // its request) until TCP gives up; the connection is destroyed, never reused.
  const queryTimeoutMs = (options.statementTimeoutMs ?? 5000) * 2 + 1000
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: options.max ?? 10,
    waitForConnections: true,
    queueLimit: 0,
    // Several statements in one round trip; values are still escaped by mysql2.
    multipleStatements: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: 'Z',
    dateStrings: false,
  })
  pool.on('connection', (conn) => {
    withQueryTimeout(conn, queryTimeoutMs, () => counted.removed(conn))
    // Each statement sees the latest commits, as on PostgreSQL: the engine relies on row
    // locks, never on a snapshot, and reads a record's newest event after locking it.
    conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED')
    conn.query(`SET SESSION innodb_lock_wait_timeout = ${lockWaitSeconds}`)
    // MariaDB's statement cap; MySQL answers "unknown variable", which is fine to ignore.
    conn.query(`SET SESSION max_statement_time = ${lockWaitSeconds}`, () => {})
  })
  // Counted first: its getConnection wrapper sees our waits and Kysely's.
  const counted = new MysqlPoolStats(pool)
  // Every wait for a connection (Kysely's reads too) is bounded by the acquire timeout.
  const take = (timeoutMs: number, wait?: WaitOptions) =>
    waitBounded(
      () => {
        // mysql2 emits 'enqueue' synchronously when the caller must wait for a busy
        // connection; opening a new one is bounded by its own connectTimeout.
        let queued = false
        const onQueue = () => {
          queued = true
        }
        pool.once('enqueue', onQueue)
        const resource = new Promise<mysql.PoolConnection>((resolve, reject) =>
          pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn))),
        )
        pool.off('enqueue', onQueue)
        return { queued, resource }
      },
      (late) => late.release(),
      timeoutMs,
      wait,
    )
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 2000
  const bounded = {
    getConnection: (callback: (error: unknown, connection: mysql.PoolConnection) => void) =>
      void take(acquireTimeoutMs).then(
        (conn) => callback(null, conn),
        (error: unknown) => callback(error, undefined as unknown as mysql.PoolConnection),
      ),
    end: (callback: (error: unknown) => void) => pool.end(callback),
  }
  const kysely = new Kysely<unknown>({
    dialect: observedDialect(new MysqlDialect({ pool: bounded }), health),
  })

  const session = (conn: mysql.PoolConnection): Session => ({
    run(list: readonly Statement[]): Promise<StatementResult[]> {
      const text = list.map((s) => s.sql).join(';\n')
      const params = list.flatMap((s) => s.parameters as unknown[])
      return new Promise((resolve, reject) => {
        conn.query({ sql: text, values: params, typeCast: rawJson }, (err, result) => {
          if (err) return reject(err)
          const results = list.length === 1 ? [result as MysqlResult] : (result as MysqlResult[])
          resolve(results.map(toStatementResult))
        })
      })
    },
  })

  const dialect: Dialect = {
    name: 'mysql',
    supportsReturning: false,
    lastInsertIdSql: 'LAST_INSERT_ID()',
    supportsRowLocks: true,
    supportsPartialIndexes: false,
    beginSql: 'START TRANSACTION',
    relaxedDurability: {
      supported: false,
      reason:
        "durability: 'relaxed' is not supported on MySQL/MariaDB: they have no per-transaction way to return from COMMIT before the log is flushed. The server-wide setting innodb_flush_log_at_trx_commit = 2 is the operator's alternative (it relaxes every transaction of the server).",
    },
    types: { json: 'json', timestamp: 'datetime(3)', text: 'text' },
    // Named locks are server-wide: the name carries the database (hashed: names are at
    // most 64 characters), so migrations of different databases never wait for each other.
    migrationLock: {
      lock: `SELECT GET_LOCK(${MIGRATION_LOCK_NAME}, 60) AS acquired`,
      unlock: `SELECT RELEASE_LOCK(${MIGRATION_LOCK_NAME})`,
    },
    // MariaDB has CREATE INDEX IF NOT EXISTS, MySQL 8 does not: ask the catalogue instead.
    indexExistsSql:
      'SELECT 1 AS found FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ? LIMIT 1',
    columnsSql:
      'SELECT column_name AS name FROM information_schema.columns WHERE table_name = ? AND table_schema = DATABASE()',
    // MariaDB's utf8mb4_bin pads trailing spaces; its nopad_bin and MySQL 8's 0900_bin do not.
    exactText: {
      collationSql:
        "SELECT IF(VERSION() LIKE '%MariaDB%', 'utf8mb4_nopad_bin', 'utf8mb4_0900_bin') AS collation",
      convertSql: (table, collation) =>
        `ALTER TABLE \`${table}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`,
    },
    feed: MYSQL_FEED,
    leafSql: MYSQL_LEAF_SQL,
    maxParameters: 60_000,
    bigintAsText: (column) => `CAST(${column} AS CHAR)`,
    bigintParameter: (value) => value,
    toParameter: (value) => value,
    classify(error) {
      const e = error as { errno?: unknown; code?: unknown; fatal?: unknown } | null
      // mysql2 marks errors that end the connection `fatal`; one without a server errno is
      // the connection itself failing (a query sent after it closed: no code at all).
      const lost = e?.fatal === true && typeof e.errno !== 'number'
      if (lost || (typeof e?.code === 'string' && NETWORK_CODES.has(e.code))) {
        return new AuditedError('unavailable', 'The database cannot be reached.', {
          details: { reason: UNREACHABLE },
          cause: error,
        })
      }
      const known = typeof e?.errno === 'number' ? MYSQL_ERRNOS[e.errno] : undefined
      return known === undefined ? undefined : classified(known, error)
    },
    isRetryableTransactionError: (error) => (error as { errno?: unknown })?.errno === 1213,
    poolStats: () => counted.stats(),
    acquire: async (timeoutMs, wait) => {
      const conn = await take(timeoutMs, wait)
      return {
        session: session(conn),
        release: (destroy) => {
          if (!destroy) return conn.release()
          counted.removed(conn)
          conn.destroy()
        },
      }
    },
  }
  return { kysely, readKysely: kysely, dialect, close: async () => kysely.destroy() }
}

type QueryCallback = (error: { code?: unknown } | null, ...rest: unknown[]) => void

/** Every query of `conn` (the engine's and Kysely's) gets mysql2's `timeout`; a query that
 * times out destroys the connection, whose protocol state is then unknown. */
function withQueryTimeout(conn: mysql.PoolConnection, timeoutMs: number, onDestroy: () => void): void {
  const query = conn.query.bind(conn) as (...args: unknown[]) => unknown
  const timed = (sql: unknown, values?: unknown, callback?: unknown) => {
    const options =
      typeof sql === 'string' ? { sql, timeout: timeoutMs } : { timeout: timeoutMs, ...(sql as object) }
    const cb = (typeof values === 'function' ? values : callback) as QueryCallback | undefined
    const args = typeof values === 'function' || values === undefined ? [] : [values]
    if (cb === undefined) return query(options, ...args)
    return query(options, ...args, (error: { code?: unknown } | null, ...rest: unknown[]) => {
      if (error?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
        onDestroy()
        conn.destroy()
      }
      cb(error, ...rest)
    })
  }
  conn.query = timed as typeof conn.query
}
