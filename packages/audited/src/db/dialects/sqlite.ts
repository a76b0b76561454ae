import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { type Classification, classified } from '../classification.js'
import type { Dialect } from '../dialect.js'
import type { DatabaseHealth } from '../health.js'
import { observedDialect } from '../observed-kysely-dialect.js'
import type { WriterLock } from '../writer-lock.js'
import { SQLITE_FEED } from './feed-positions.js'
import { SQLITE_LEAF_SQL } from './leaf-sql.js'
import { writerLockFor } from './sqlite-file-locks.js'
import { CommitGroup } from './sqlite-group-commit.js'
import { LeasedSqliteDialect, StatementCache } from './sqlite-kysely-dialect.js'

export interface SqliteOptions {
  /** `normal` (default) or `full`. With WAL, `normal` may lose the last commits on power
   * loss but never splits a write from its event: both are in the same WAL frame set. */
  readonly synchronous?: 'normal' | 'full'
  /** How long SQLite waits for another process's write lock (ms). */
  readonly busyTimeoutMs?: number
  /** Engine transactions that queue for the writer share one COMMIT (default true). Each
   * caller still returns only after the COMMIT that made its write durable; see
   * sqlite-group-commit.ts. */
  readonly groupCommit?: boolean
  /** Create the database file's directory if it is missing (the server does). */
  readonly createDirectory?: boolean
}

/** SQLite (extended) result code → catalogue; the same situations as PostgreSQL's and
 * MySQL's tables give the same code and reason. */
const SQLITE_CODES: Record<string, Classification> = {
  SQLITE_CONSTRAINT_UNIQUE: ['conflict', 'unique', 'A record with the same unique value already exists.'],
  SQLITE_CONSTRAINT_PRIMARYKEY: ['conflict', 'unique', 'A record with the same key already exists.'],
  SQLITE_CONSTRAINT_FOREIGNKEY: [
    'conflict',
    'foreign_key',
    'The write breaks a reference to another record.',
  ],
  SQLITE_CONSTRAINT_NOTNULL: ['validation', 'A required field is missing.'],
  SQLITE_CONSTRAINT_CHECK: ['validation', 'A field value breaks a check.'],
  SQLITE_MISMATCH: ['validation', 'A field has the wrong type.'],
  SQLITE_TOOBIG: ['validation', 'A value is too large.'],
  // Another process held the write lock for longer than busy_timeout: a lock wait that
  // timed out, as PostgreSQL's lock_timeout and MySQL's innodb_lock_wait_timeout.
  SQLITE_BUSY: ['unavailable', 'statement_timeout', 'The database stayed locked too long.'],
  SQLITE_BUSY_TIMEOUT: ['unavailable', 'statement_timeout', 'The database stayed locked too long.'],
  SQLITE_BUSY_RECOVERY: ['unavailable', 'statement_timeout', 'The database stayed locked too long.'],
  // A read transaction could not become a write one: another commit came first.
  SQLITE_BUSY_SNAPSHOT: ['conflict', 'serialization', 'The write raced another one; retry it.'],
  SQLITE_LOCKED: ['unavailable', 'locked', 'The database is locked.'],
  SQLITE_LOCKED_SHAREDCACHE: ['unavailable', 'locked', 'The database is locked.'],
  SQLITE_FULL: ['unavailable', 'out_of_resources', 'The database is full.'],
  SQLITE_NOMEM: ['unavailable', 'out_of_resources', 'The database is out of memory.'],
}

function readerDatabase(path: string, busyTimeoutMs: number): StatementCache {
  const reader = new Database(path, { readonly: true, fileMustExist: true })
  reader.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`)
  // Reads through a memory map instead of a read() call per page: measured ~25 → ~5 µs of
  // system time per history query. A failing disk can then fault the process (SIGBUS)
  // rather than return SQLITE_IOERR; the writer keeps ordinary reads.
  reader.pragma('mmap_size = 268435456')
  return new StatementCache(reader)
}

/**
 * `PRAGMA synchronous = OFF` on the writer (SQLite refuses it inside a transaction, so it
 * takes the writer lock as a non-transaction caller: the connection is then outside any).
 * WAL stays: an application crash loses nothing (every commit is in the OS's hands); a
 * crash of the OS or a power loss may lose the newest commits, since nothing is fsynced,
 * not even at checkpoints — which SQLite documents may then also damage the file.
 */
async function relaxWriter(raw: Database.Database, lock: WriterLock): Promise<void> {
  if (!lock.tryTake()) await lock.take('other')
  try {
    raw.pragma('synchronous = OFF')
  } finally {
    lock.release()
  }
}

export function createSqlite(
  path: string,
  options: SqliteOptions,
  health: DatabaseHealth,
  acquireTimeoutMs: number,
) {
  if (options.createDirectory === true && path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const raw = new Database(path)
  if (path !== ':memory:') raw.pragma('journal_mode = WAL')
  raw.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  raw.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`)
  raw.pragma('foreign_keys = ON')
  // The statement journal in memory. Group commit runs each member in a SAVEPOINT, and
  // SQLite copies every page a savepoint touches first into that journal, which this build
  // (TEMP_STORE=1) spills to a temporary file past 64 KiB: a group of 16 creates with
  // personal fields passed it, and each commit then created, wrote and deleted a file. In
  // memory, measured at 16 callers: SQL time of a create 136 → 71 µs with personal fields,
  // 69 → 61 µs without. It holds one transaction's touched pages (groups are bounded); the
  // writer's temporary tables and sorts (a migration's CREATE INDEX) are in memory too.
  raw.pragma('temp_store = MEMORY')
  // Deleted and overwritten content is zeroed, so an erased value leaves no copy in free
  // space of the file (personal data, see privacy/personal-data.ts).
  raw.pragma('secure_delete = ON')
  const statements = new StatementCache(raw)
  // Shared with the other handles of this file in this process (sqlite-file-locks.ts).
  const { lock, release: releaseLock } = writerLockFor(path)
  const kysely = new Kysely<unknown>({
    dialect: observedDialect(new LeasedSqliteDialect(statements, lock, acquireTimeoutMs), health),
  })

  // Engine transactions share COMMITs while they queue for the one writer (group commit).
  const group = new CommitGroup(raw, statements, lock, options.groupCommit !== false)
  const dialect: Dialect = {
    name: 'sqlite',
    supportsReturning: true,
    supportsRowLocks: false,
    supportsPartialIndexes: true,
    beginSql: 'BEGIN IMMEDIATE',
    relaxedDurability: { supported: true, relaxWriter: () => relaxWriter(raw, lock) },
    types: { json: 'text', timestamp: 'text', text: 'text' },
    migrationLock: undefined,
    indexExistsSql: undefined,
    columnsSql: 'SELECT name FROM pragma_table_info(?)',
    feed: SQLITE_FEED,
    leafSql: SQLITE_LEAF_SQL,
    afterEraseSql: ['PRAGMA wal_checkpoint(TRUNCATE)'],
    maxParameters: 32_000,
    packRowFunction: 'json_array',
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
      return classified(known, error)
    },
    isRetryableTransactionError: () => false,
    commitStats: () => ({ ...group.stats }),
    poolStats: () => ({ total: 1, idle: lock.held ? 0 : 1, waiting: lock.waiting }),
    acquire: (timeoutMs, wait) => group.acquire(timeoutMs, wait),
  }
  // Reads (event queries) go to a second, read-only connection: with WAL they see the last
  // committed state and never wait behind an open write transaction. An in-memory
  // database cannot be shared between connections, so there reads use the writer.
  const readKysely =
    path === ':memory:'
      ? kysely
      : new Kysely<unknown>({
          dialect: observedDialect(
            new SqliteDialect({ database: readerDatabase(path, options.busyTimeoutMs ?? 5000) }),
            health,
          ),
        })
  return {
    kysely,
    readKysely,
    dialect,
    close: async () => {
      try {
        if (readKysely !== kysely) await readKysely.destroy()
        await kysely.destroy()
      } finally {
        releaseLock()
      }
    },
  }
}
