import type { AuditedError } from '../core/errors.js'
import type { WaitOptions } from './acquire.js'

export type DialectName = 'sqlite' | 'postgres' | 'mysql'

/** One SQL statement with its parameters, as Kysely compiles it for the dialect. */
export interface Statement {
  readonly sql: string
  readonly parameters: readonly unknown[]
}

/** What one statement gave back. */
export interface StatementResult {
  readonly rows: Record<string, unknown>[]
  /** Rows inserted, updated or deleted (0 for a SELECT). */
  readonly affected: number
  /** MySQL: the AUTO_INCREMENT value the INSERT generated (0 when it generated none). */
  readonly insertId?: number | string
}

/**
 * One connection, held exclusively until released. The engine runs every write
 * transaction on a session, never on the shared pool, so that nothing else can slip into
 * an open transaction.
 */
export interface Session {
  /**
   * Runs statements in order and stops at the first failing one, which throws. MySQL
   * sends them as one multi-statement request (one round trip); PostgreSQL as named
   * prepared statements, one round trip each; SQLite runs them in-process.
   */
  run(statements: readonly Statement[]): Promise<StatementResult[]>
}

/** Engine transactions committed and the COMMIT statements that carried them (group commit). */
export interface CommitStats {
  readonly transactions: number
  readonly commits: number
}

/** Connections of a pool right now (for metrics). */
export interface PoolStats {
  readonly total: number
  readonly idle: number
  readonly waiting: number
}

/**
 * How a dialect lets a transaction's COMMIT return before the database has flushed it to
 * disk (`createAuditor({ durability: 'relaxed' })`). A crash of the database server or the
 * machine may then lose the newest commits, never part of one: a row and its change event
 * are in one transaction, and recovery replays a transaction whole or not at all.
 */
export type RelaxedDurability =
  | {
      readonly supported: true
      /** Statements sent right after BEGIN, in the same request, for each relaxed
       * transaction (PostgreSQL: `SET LOCAL synchronous_commit = off`). */
      readonly afterBegin?: readonly string[]
      /** Relaxes the writer connection itself, outside any transaction; every write on it
       * is relaxed from then on (SQLite: `PRAGMA synchronous = OFF`). */
      relaxWriter?(): Promise<void>
    }
  | {
      readonly supported: false
      /** Why not, and what the operator can do instead (the validation error's message). */
      readonly reason: string
    }

export interface Lease {
  readonly session: Session
  /** Returns the connection; `destroy` drops it instead (after a failed rollback). */
  release(destroy?: boolean): void
}

/** How events get feed positions on this database (see dialects/feed-positions.ts). */
export interface FeedCapability {
  /** Statements adding `change_events.feed_pos` (existing events read 0). */
  readonly addPositionSql: readonly string[]
  /** The sequencer table (one row, id 1) where positions are reserved, if any. */
  readonly sequencerTable?: string
  /** Reserves `n` positions; sent in the COMMIT request right before the events' INSERT.
   * Undefined where the column default fills the position (PostgreSQL). */
  readonly reserveSql?: (n: number) => string
  /** The position of row `i` of `n` after `reserveSql(n)`, as a SQL expression. */
  readonly positionSql?: (i: number, n: number) => string
  /** Events with `feed_pos` below this expression are final (no transaction that could
   * still add one is open); undefined where every visible event is final. */
  readonly boundSql?: string
  /** One row `{ age_ms }`: the age of the oldest open transaction holding the feed back;
   * undefined where none can (a sequencer hands out positions at COMMIT). */
  readonly holdbackSql?: string
}

/**
 * How a database builds a change event's leaf input (integrity/leaf.ts) from its stored
 * columns, so that `verify` reads one value per event instead of decoding every event.
 * Only an optimisation: whatever these build, an event whose result does not match its
 * leaf is read and hashed in full before anything is reported.
 */
export interface LeafSql {
  /** A text column as a JSON string literal (`null` when NULL), escaped as `JSON.stringify`. */
  jsonString(column: string): string
  /** A JSON column's stored text as written, or `fallback` (JSON text) when NULL. */
  storedJson(column: string, fallback: string): string
  /** A timestamp column as the API's ISO-8601 UTC text with milliseconds, quoted as JSON. */
  isoMillis(column: string): string
  /** The concatenation of SQL text expressions. */
  concat(parts: readonly string[]): string
  /** Feed pages worth reading at once: more than 1 where reads run on server connections
   * in parallel with this process, 1 where they run in it (SQLite). */
  readonly readDepth: number
  /** Worker threads `verify` may read and hash pages in, each on a connection of its own
   * (where reads would run on the caller's thread: SQLite); none where the server does
   * that work in parallel already. */
  readonly readThreads?: number
  /** The aggregate joining `expr` of a group's rows with commas, in `order`. */
  joined(expr: string, order: string): string
  /** Lower-case hex of SHA-256(0x00 ‖ UTF-8 of `text`), where the database has SHA-256. */
  leafHex?(text: string): string
  /** Statements making the change-event JSON columns keep their text as written, where the
   * first migration's JSON type rewrites it (PostgreSQL jsonb reorders keys). */
  readonly keepJsonTextSql?: readonly string[]
}

/**
 * Everything the engine needs to know about one database, in one place. The engine asks
 * the capability flags ("can you RETURNING?"), never "are you postgres?".
 */
export interface Dialect {
  readonly name: DialectName
  /** `INSERT/UPDATE/DELETE … RETURNING *` works. */
  readonly supportsReturning: boolean
  /** `SELECT … FOR UPDATE` takes a row lock (false where the transaction itself already
   * holds the only write lock, as SQLite's `BEGIN IMMEDIATE`). */
  readonly supportsRowLocks: boolean
  /** Partial indexes (`CREATE INDEX … WHERE …`). */
  readonly supportsPartialIndexes: boolean
  /** The statement that opens a write transaction. */
  readonly beginSql: string
  /** See `RelaxedDurability`. */
  readonly relaxedDurability: RelaxedDurability
  /** Column types of the change-event table. */
  readonly types: { readonly json: string; readonly timestamp: string; readonly text: string }
  /** Statements that serialise `migrate` across processes on one connection (session-level
   * lock), or undefined where the DDL is idempotent anyway (SQLite). A `lock` that can give
   * up waiting answers one row with an `acquired` column, 1 only when the lock was taken. */
  readonly migrationLock: { readonly lock: string; readonly unlock: string } | undefined
  /** A query (parameters: table, index) returning a row when the index exists, for
   * databases without `CREATE INDEX IF NOT EXISTS` (MySQL 8); undefined where it exists. */
  readonly indexExistsSql: string | undefined
  /** Lists a table's column names (one parameter: the table), as rows `{ name }`. */
  readonly columnsSql: string
  /**
   * A SQL function that packs a row's columns into one JSON array, where reading one wide
   * value is cheaper than many columns (event reads use it), or undefined. SQLite:
   * better-sqlite3 pays ~0.35 µs for every column of every row it turns into an object;
   * on pg a packed read measured no faster.
   */
  readonly packRowFunction?: string
  /** SQL expression for the key the session's last INSERT generated (AUTO_INCREMENT),
   * where INSERT has no RETURNING (MySQL `LAST_INSERT_ID()`); undefined elsewhere. */
  readonly lastInsertIdSql?: string
  /**
   * Where a database's collations fold case or accents or pad trailing spaces (MySQL,
   * MariaDB: `'acme '` = `'acme'`, and with the server default `'ACME'` = `'acme'`), how
   * migrations make a table compare text exactly: a query answering one row `{ collation }`
   * (a binary, NO PAD collation of this server) and the statement converting `table` to
   * it. Undefined where text already compares exactly.
   */
  readonly exactText?: {
    readonly collationSql: string
    convertSql(table: string, collation: string): string
  }
  /** Feed positions (the commit-ordered change feed). */
  readonly feed: FeedCapability
  /** Run after an erasure so no copy of the erased values stays in the database's files
   * (SQLite: the WAL is checkpointed and truncated; freed cells are zeroed by
   * `secure_delete`). */
  readonly afterEraseSql?: readonly string[]
  /** Leaf inputs built by the database (verification's fast read), where it can. */
  readonly leafSql?: LeafSql
  /** Largest number of bound parameters one statement may carry. */
  readonly maxParameters: number
  /** SQL expression reading a BIGINT column as its exact decimal text. */
  bigintAsText(column: string): string
  /** A bigint as a statement parameter, compared exactly (no float conversion). */
  bigintParameter(value: bigint): unknown
  /** A JS value as this driver binds it (booleans, dates, JSON, bigints). */
  toParameter(value: unknown): unknown
  /** Maps a driver error to the catalogue, or undefined when it is not a known kind. */
  classify(error: unknown): AuditedError | undefined
  /** True for deadlocks and serialization failures: the whole transaction may be retried. */
  isRetryableTransactionError(error: unknown): boolean
  /** Pool usage now. */
  poolStats(): PoolStats
  /** Where COMMITs are shared (SQLite group commit): engine transactions committed and the
   * COMMIT statements that carried them, since the database was opened. */
  commitStats?(): CommitStats
  /** Takes a connection, waiting at most `timeoutMs` (then `unavailable`, reason
   * `pool_exhausted`) and not at all once `options.signal` aborts (reason `aborted`). */
  acquire(timeoutMs: number, options?: WaitOptions): Promise<Lease>
}
