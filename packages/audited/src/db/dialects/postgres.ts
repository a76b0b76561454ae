import { createHash } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { AuditedError } from '../../core/errors.js'
import { type WaitOptions, waitBounded } from '../acquire.js'
import { type Classification, classified } from '../classification.js'
import type { Dialect, Session, Statement, StatementResult } from '../dialect.js'
import { type DatabaseHealth, UNREACHABLE } from '../health.js'
import { observedDialect } from '../observed-kysely-dialect.js'
import { POSTGRES_FEED } from './feed-positions.js'
import { POSTGRES_LEAF_SQL } from './leaf-sql.js'

export interface PoolOptions {
  /** Connections in the pool (default 10). */
  readonly max?: number
  /** Longest wait for a free connection before `unavailable` (ms, default 2000). */
  readonly acquireTimeoutMs?: number
  /** Server-side cap on one statement, including lock waits (ms, default 5000). */
  readonly statementTimeoutMs?: number
}

/** SQLSTATE → catalogue. Classes are matched by their first two characters. */
const PG_CODES: Record<string, Classification> = {
  '23505': ['conflict', 'unique', 'A record with the same unique value already exists.'],
  '23503': ['conflict', 'foreign_key', 'The write breaks a reference to another record.'],
  '23502': ['validation', 'A required field is missing.'],
  '23514': ['validation', 'A field value breaks a check.'],
  '40001': ['conflict', 'serialization', 'The write raced another one; retry it.'],
  '40P01': ['conflict', 'deadlock', 'The write deadlocked with another one; retry it.'],
  // lock_timeout and statement_timeout share one limit (and PostgreSQL reports whichever
  // fires first), so both are one reason, as MySQL's lock wait and statement timeouts.
  '55P03': ['unavailable', 'statement_timeout', 'A record stayed locked too long.'],
  '57014': ['unavailable', 'statement_timeout', 'The database took too long to answer.'],
  // Lost connections and a database going away are faults (the circuit breaker counts them).
  '57P01': ['unavailable', 'unreachable', 'The database is restarting.'],
  '57P02': ['unavailable', 'unreachable', 'The database is restarting.'],
  '57P03': ['unavailable', 'unreachable', 'The database is not accepting connections yet.'],
  '53300': ['unavailable', 'out_of_resources', 'The database has no free connections.'],
}
const PG_CLASSES: Record<string, Classification> = {
  '22': ['validation', 'A field value has the wrong type or size.'],
  '08': ['unavailable', 'unreachable', 'The database connection failed.'],
  '53': ['unavailable', 'out_of_resources', 'The database is out of resources.'],
}
interface Corkable {
  cork(): void
  uncork(): void
}

/** pg's messages (no code) for a connection that dropped or cannot be used any more. */
const CONNECTION_LOST = [
  'Connection terminated',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
  // `query_timeout`: the server answered nothing long after its own statement timeout
  'Query read timeout',
]

/** Longest wait for a new connection to open (ms), unless the acquire timeout is longer. */
const CONNECT_TIMEOUT_MS = 10_000

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'])

const names = new Map<string, string>()
/** A stable prepared-statement name per SQL text (the engine's statements are templates,
 * so their number is bounded by the shapes in use). */
function statementName(text: string): string {
  let name = names.get(text)
  if (name === undefined) {
    name = `audited_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`
    names.set(text, name)
  }
  return name
}

/** The engine reads json/jsonb as text and parses it itself, exactly once: the driver's
 * own parsing would make a stored JSON string indistinguishable from JSON text. */
const JSON_OIDS = new Set([114, 3802])
const rawJsonTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    JSON_OIDS.has(oid)
      ? (value: string) => value
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

export function createPostgres(url: string, options: PoolOptions, health: DatabaseHealth) {
  const statementTimeoutMs = options.statementTimeoutMs ?? 5000
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 2000
  const max = options.max ?? 10
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // Bounds opening a connection (a database that answers nothing); our own bound on
    // waiting for a busy one (`waitBounded`) is shorter, so it always ends a queue wait first.
    connectionTimeoutMillis: Math.max(CONNECT_TIMEOUT_MS, acquireTimeoutMs + 1000),
    statement_timeout: statementTimeoutMs,
    lock_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(statementTimeoutMs * 4, 10_000),
    // A connection that goes silent (a partition dropping packets, a hung server) would
    // otherwise hold its query, and its request, until TCP gives up (minutes). The server
    // answers every statement within `statement_timeout`; no answer well after it means the
    // database is not answering: pg fails the query and destroys the connection
    // (`unreachable`, so the circuit breaker counts it).
    query_timeout: statementTimeoutMs * 2 + 1000,
    // Queries are written without waiting for the previous answer (see `session`). pg
    // refuses only portal queries (cursors) in this mode, which nothing here uses.
    pipeline: true,
  })
  // A client losing its connection must not crash the process: idle ones are dropped by
  // the pool; a checked-out one (in pipeline mode pg also emits 'error' on the client) has
  // its queries rejected, which the engine classifies as `unavailable`.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  // Every wait for a connection — Kysely's reads (token look-ups, lists, /ready) as much
  // as the engine's transactions — is bounded by the acquire timeout: pg's own
  // `connectionTimeoutMillis` cannot tell a full pool from an unreachable server.
  const connect = (timeoutMs: number, wait?: WaitOptions) =>
    waitBounded(
      // pg queues a caller when every connection exists (an idle one is handed at once);
      // otherwise it opens one, bounded by `connectionTimeoutMillis`.
      () => ({ queued: pool.totalCount >= max, resource: pool.connect() }),
      (late) => late.release(),
      timeoutMs,
      wait,
    )
  const bounded = { connect: () => connect(acquireTimeoutMs), end: () => pool.end() }
  const kysely = new Kysely<unknown>({
    dialect: observedDialect(new PostgresDialect({ pool: bounded }), health),
  })

  const session = (client: pg.PoolClient): Session => ({
    // Pipeline mode: every statement of the list is written at once, each a named prepared
    // statement (parsed and planned once per connection), and the answers come back in
    // order — one round trip for BEGIN + the first statements, one for the event INSERT +
    // COMMIT. After a failure inside the transaction PostgreSQL fails the rest (and answers
    // a pipelined COMMIT with a rollback), so nothing after an error takes effect.
    async run(list: readonly Statement[]): Promise<StatementResult[]> {
      // pg writes each query as its own socket write; corking around the list sends the
      // whole batch in one write (one syscall instead of one per statement).
      const stream = (client as unknown as { connection?: { stream?: Corkable } }).connection?.stream
      stream?.cork()
      const sent = list.map((s) =>
        s.parameters.length === 0
          ? client.query({ text: s.sql, types: rawJsonTypes })
          : client.query({
              name: statementName(s.sql),
              text: s.sql,
              values: s.parameters as unknown[],
              types: rawJsonTypes,
            }),
      )
      stream?.uncork()
      const settled = await Promise.allSettled(sent)
      const failed = settled.find((r) => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      return settled.map((r) => {
        const q = (r as PromiseFulfilledResult<pg.QueryResult>).value
        return { rows: q.rows ?? [], affected: q.rowCount ?? 0 }
      })
    },
  })

  const dialect: Dialect = {
    name: 'postgres',
    supportsReturning: true,
    supportsRowLocks: true,
    supportsPartialIndexes: true,
    beginSql: 'BEGIN',
    // Per transaction: COMMIT returns once the WAL record is in the server's buffers; the
    // WAL writer flushes it within 3 × wal_writer_delay (default 200 ms). Pipelined with
    // BEGIN, so it costs no round trip.
    relaxedDurability: { supported: true, afterBegin: ['SET LOCAL synchronous_commit = off'] },
    types: { json: 'jsonb', timestamp: 'timestamptz', text: 'text' },
    migrationLock: {
      lock: 'SELECT pg_advisory_lock(74210042)',
      unlock: 'SELECT pg_advisory_unlock(74210042)',
    },
    indexExistsSql: undefined,
    columnsSql:
      'SELECT column_name AS name FROM information_schema.columns WHERE table_name = $1 AND table_schema = current_schema()',
    feed: POSTGRES_FEED,
    leafSql: POSTGRES_LEAF_SQL,
    maxParameters: 65_000,
    bigintAsText: (column) => `CAST(${column} AS TEXT)`,
    bigintParameter: (value) => value.toString(),
    toParameter: (value) => value,
    classify(error) {
      const code = (error as { code?: unknown })?.code
      if (typeof code !== 'string') {
        // pg reports a connection lost mid-query with a plain Error and no code
        const message = error instanceof Error ? error.message : ''
        return CONNECTION_LOST.some((m) => message.startsWith(m))
          ? new AuditedError('unavailable', 'The database connection was lost.', {
              details: { reason: UNREACHABLE },
              cause: error,
              retryable: true,
              retryAfterSeconds: 1,
            })
          : undefined
      }
      if (NETWORK_CODES.has(code)) {
        return new AuditedError('unavailable', 'The database cannot be reached.', {
          details: { reason: UNREACHABLE },
          cause: error,
        })
      }
      const known = PG_CODES[code] ?? (code.length === 5 ? PG_CLASSES[code.slice(0, 2)] : undefined)
      return known === undefined ? undefined : classified(known, error)
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    isRetryableTransactionError: (error) => {
      const code = (error as { code?: unknown })?.code
      return code === '40001' || code === '40P01'
    },
    acquire: async (timeoutMs, wait) => {
      const client = await connect(timeoutMs, wait)
      return { session: session(client), release: (destroy) => client.release(destroy === true) }
    },
  }
  return { kysely, readKysely: kysely, dialect, close: async () => kysely.destroy() }
}
