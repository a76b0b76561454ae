/**
 * One fresh database per dialect: created with a unique name, dropped (or its temp dir
 * removed) at the end, plus the raw baseline pool and the server facts for the report.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import mysql from 'mysql2/promise'
import pg from 'pg'
import type { AuditedDatabase, DialectName } from '../packages/audited/src/index.js'
import { MYSQL_URL, PG_URL } from './config.js'
import { openMysqlPool, openPostgresPool, openSqlitePool, type RawPool } from './raw-pools.js'

export interface BenchDatabase {
  /** URL for `openDatabase`. */
  readonly url: string
  /** The SQLite file, for the raw handle. */
  readonly file?: string
  drop(): Promise<void>
}

export interface DialectTarget {
  readonly name: DialectName
  /** Why the database cannot be used, or undefined when it can. */
  unreachable(): Promise<string | undefined>
  create(): Promise<BenchDatabase>
  openRaw(created: BenchDatabase, poolSize: number): RawPool
  /** A query answering rows of `name` / `value` (or MySQL's `Variable_name` / `Value`). */
  readonly settingsSql: string
}

const uniqueName = () => `audited_bench_${process.pid}_${randomBytes(4).toString('hex')}`

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

async function probe(connect: () => Promise<void>): Promise<string | undefined> {
  try {
    await connect()
    return undefined
  } catch (e) {
    return errorMessage(e)
  }
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Runs one statement on the server's admin connection. */
async function pgAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

async function mysqlAdmin(statement: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 5000 })
  try {
    await conn.query(statement)
  } finally {
    await conn.end()
  }
}

const sqliteTarget: DialectTarget = {
  name: 'sqlite',
  unreachable: async () => undefined,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'audited-bench-'))
    const file = join(dir, `${uniqueName()}.db`)
    return {
      url: `sqlite:${file}`,
      file,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    }
  },
  openRaw(created) {
    if (created.file === undefined) throw new Error('sqlite bench database has no file')
    return openSqlitePool(created.file)
  },
  settingsSql: `SELECT 'sqlite_version' AS name, sqlite_version() AS value
    UNION ALL SELECT 'journal_mode', journal_mode FROM pragma_journal_mode
    UNION ALL SELECT 'synchronous (0 off, 1 normal, 2 full)', synchronous FROM pragma_synchronous
    UNION ALL SELECT 'cache_size', cache_size FROM pragma_cache_size
    UNION ALL SELECT 'page_size', page_size FROM pragma_page_size
    UNION ALL SELECT 'busy_timeout (ms)', timeout FROM pragma_busy_timeout`,
}

const postgresTarget: DialectTarget = {
  name: 'postgres',
  unreachable: () =>
    probe(async () => {
      const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
      await client.connect()
      await client.end()
    }),
  async create() {
    const name = uniqueName()
    await pgAdmin(`CREATE DATABASE ${name}`)
    return {
      url: withDatabase(PG_URL, name),
      drop: () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    }
  },
  openRaw: (created, poolSize) => openPostgresPool(created.url, poolSize),
  settingsSql: `SELECT name, current_setting(name) AS value FROM pg_settings WHERE name IN
    ('server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'commit_delay',
     'shared_buffers', 'default_transaction_isolation') ORDER BY name`,
}

const mysqlTarget: DialectTarget = {
  name: 'mysql',
  unreachable: () =>
    probe(async () => {
      const conn = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 2000 })
      await conn.end()
    }),
  async create() {
    const name = uniqueName()
    await mysqlAdmin(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
    return {
      url: withDatabase(MYSQL_URL, name),
      drop: () => mysqlAdmin(`DROP DATABASE IF EXISTS ${name}`),
    }
  },
  openRaw: (created, poolSize) => openMysqlPool(created.url, poolSize),
  settingsSql: `SHOW VARIABLES WHERE Variable_name IN ('version', 'version_comment',
    'innodb_flush_log_at_trx_commit', 'sync_binlog', 'log_bin', 'innodb_buffer_pool_size',
    'tx_isolation', 'transaction_isolation', 'innodb_flush_method')`,
}

export const TARGETS: Readonly<Record<DialectName, DialectTarget>> = {
  sqlite: sqliteTarget,
  postgres: postgresTarget,
  mysql: mysqlTarget,
}

function settingPairs(rows: readonly Record<string, unknown>[]): [string, string][] {
  return rows.map((row) => [String(row.name ?? row.Variable_name), String(row.value ?? row.Value)])
}

/** Server facts as the engine's connection sees them; a value the baseline connection
 * sees differently is shown next to it. */
export async function readSettings(
  target: DialectTarget,
  db: AuditedDatabase,
  raw: RawPool,
): Promise<[string, string][]> {
  const engineRows = (await sql.raw<Record<string, unknown>>(target.settingsSql).execute(db.kysely)).rows
  const rawRows = await raw.withConnection(
    async (conn) => (await conn.run({ name: 'settings', sql: target.settingsSql }, [])).rows,
  )
  const baseline = new Map(settingPairs(rawRows))
  return settingPairs(engineRows).map(([name, value]) => {
    const other = baseline.get(name)
    return [name, other === undefined || other === value ? value : `${value} (baseline connection: ${other})`]
  })
}

/**
 * Bench databases still to drop, so that an interrupted run (Ctrl-C) leaves none behind.
 * `track` one when created; `drop` it when done; `dropAll` on SIGINT.
 */
export class PendingDrops {
  readonly #pending = new Set<BenchDatabase>()
  readonly #warn: (message: string) => void

  constructor(warn: (message: string) => void) {
    this.#warn = warn
  }

  track(created: BenchDatabase): void {
    this.#pending.add(created)
  }

  async drop(created: BenchDatabase): Promise<void> {
    this.#pending.delete(created)
    try {
      await created.drop()
    } catch (e) {
      this.#warn(`could not drop the bench database ${created.url}: ${errorMessage(e)}`)
    }
  }

  dropAll(): Promise<void> {
    return Promise.all([...this.#pending].map((d) => this.drop(d))).then(() => undefined)
  }
}
