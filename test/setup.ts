/**
 * One test body, every dialect. `DIALECTS` lists SQLite always and PostgreSQL / MariaDB
 * from PG_URL / MYSQL_URL (defaults: the local services). Every suite gets its own freshly
 * created database, dropped afterwards, so runs never collide.
 *
 * A database that cannot be reached is skipped with a loud reason — unless CI=true, where
 * it fails the run.
 */
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe } from 'node:test'
import { type Kysely, sql } from 'kysely'
import mysql from 'mysql2/promise'
import pg from 'pg'
import {
  type AuditContext,
  type AuditedDatabase,
  type Auditor,
  type AuditorOptions,
  createAuditor,
  type DialectName,
  defineEntity,
  migrate,
  type OpenDatabaseOptions,
  openDatabase,
} from '../packages/audited/src/index.js'

/**
 * The personal-data master key of the test run's CMS auditors. Also set as
 * PERSONAL_DATA_KEY, so that every CLI or server a test starts (they inherit the
 * environment) opens the subject keys the in-process auditor made.
 */
process.env.PERSONAL_DATA_KEY ??= randomBytes(32).toString('base64')
export const PERSONAL_DATA = { masterKey: process.env.PERSONAL_DATA_KEY }

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/'
const IN_CI = process.env.CI === 'true' || process.env.CI === '1'

interface TestDialect {
  readonly name: DialectName
  /** Why this dialect is skipped, or undefined when it runs. */
  readonly skip: string | undefined
  create(): Promise<{ url: string; drop(): Promise<void> }>
}

const uniqueName = () => `audited_t_${process.pid}_${randomBytes(4).toString('hex')}`

async function reachable(name: string, probe: () => Promise<void>): Promise<string | undefined> {
  try {
    await probe()
    return undefined
  } catch (e) {
    const reason = `${name} is not reachable (${(e as Error).message}); its tests are SKIPPED. Set CI=true to fail instead.`
    if (IN_CI) throw new Error(`CI=true and ${reason}`)
    process.stderr.write(`\n!!! ${reason}\n\n`)
    return reason
  }
}

const only = (process.env.DIALECTS ?? 'sqlite,postgres,mysql').split(',')

const pgSkip = only.includes('postgres')
  ? await reachable('PostgreSQL', async () => {
      const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 10_000 })
      await c.connect()
      await c.end()
    })
  : 'not selected by DIALECTS'
const mysqlSkip = only.includes('mysql')
  ? await reachable('MySQL/MariaDB', async () => {
      const c = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 10_000 })
      await c.end()
    })
  : 'not selected by DIALECTS'

export const DIALECTS: readonly TestDialect[] = [
  {
    name: 'sqlite',
    skip: only.includes('sqlite') ? undefined : 'not selected by DIALECTS',
    async create() {
      const file = join(tmpdir(), `${uniqueName()}.db`)
      return {
        url: `sqlite:${file}`,
        async drop() {
          for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
        },
      }
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    async create() {
      const name = uniqueName()
      const admin = new pg.Client({ connectionString: PG_URL })
      await admin.connect()
      await admin.query(`CREATE DATABASE ${name}`)
      await admin.end()
      const url = new URL(PG_URL)
      url.pathname = `/${name}`
      return {
        url: url.toString(),
        async drop() {
          const c = new pg.Client({ connectionString: PG_URL })
          await c.connect()
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
          await c.end()
        },
      }
    },
  },
  {
    name: 'mysql',
    skip: mysqlSkip,
    async create() {
      const name = uniqueName()
      const admin = await mysql.createConnection({ uri: MYSQL_URL })
      await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
      await admin.end()
      const url = new URL(MYSQL_URL)
      url.pathname = `/${name}`
      return {
        url: url.toString(),
        async drop() {
          const c = await mysql.createConnection({ uri: MYSQL_URL })
          await c.query(`DROP DATABASE IF EXISTS ${name}`)
          await c.end()
        },
      }
    },
  },
]

/** The test schema: a tenant-scoped, versioned, published entity and a table with generated keys. */
export interface Post {
  id: string
  tenant_id: string
  title: string
  body: string | null
  status: string
  views: number
  tags: unknown
  flag: boolean | null
  published_at: Date | null
  secret: string | null
  version: number
}

export const posts = defineEntity<Post>({
  table: 'posts',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
  statusColumn: 'status',
  redact: ['secret'],
  columns: { tags: 'json', flag: 'boolean', published_at: 'timestamp' },
})

export interface Counter {
  id: number
  name: string
  n: number
}
export const counters = defineEntity<Counter>({ table: 'counters' })

export async function createTestTables(db: AuditedDatabase): Promise<void> {
  const k = db.kysely as Kysely<unknown>
  const json = sql.raw(db.capabilities.types.json)
  const ts = sql.raw(db.capabilities.types.timestamp)
  await k.schema
    .createTable('posts')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('body', 'text')
    .addColumn('status', 'varchar(20)', (c) => c.notNull().defaultTo('draft'))
    .addColumn('views', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('tags', json)
    .addColumn('flag', 'boolean')
    .addColumn('published_at', ts)
    .addColumn('secret', 'varchar(100)')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addUniqueConstraint('posts_tenant_title', ['tenant_id', 'title'])
    .execute()
  const idType = db.dialect === 'postgres' ? 'serial' : 'integer'
  await k.schema
    .createTable('counters')
    .addColumn('id', idType, (c) =>
      db.dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('n', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
}

export interface DialectFixture {
  readonly name: DialectName
  db: AuditedDatabase
  auditor: Auditor
  url: string
  /** A second auditor/database handle on the same database (another "process"). */
  open(options?: OpenDatabaseOptions): Promise<AuditedDatabase>
}

/** The context most tests write with. */
export const ctx: AuditContext = {
  tenantId: 'acme',
  actorId: 'user-1',
  actorType: 'user',
  requestId: 'req-1',
  ip: '203.0.113.7',
  userAgent: 'test-agent',
}

/**
 * Runs `body` once per dialect, each against its own new database with the change-event
 * table and the test tables. `auditorOptions` are passed to the fixture's auditor.
 */
export function forEachDialect(
  title: string,
  body: (f: DialectFixture) => void,
  options: { db?: OpenDatabaseOptions; auditor?: Partial<AuditorOptions> } = {},
): void {
  for (const d of DIALECTS) {
    describe(`${title} [${d.name}]`, { skip: d.skip }, () => {
      const opened: AuditedDatabase[] = []
      let drop: (() => Promise<void>) | undefined
      const f = { name: d.name } as DialectFixture
      before(async () => {
        const created = await d.create()
        drop = created.drop
        f.url = created.url
        f.open = async (o) => {
          const db = await openDatabase(created.url, o ?? options.db)
          opened.push(db)
          return db
        }
        f.db = await f.open(options.db)
        await migrate(f.db)
        await createTestTables(f.db)
        f.auditor = createAuditor({ db: f.db, ...options.auditor })
      })
      after(async () => {
        await f.auditor?.close()
        for (const db of opened) await db.close()
        await drop?.()
      })
      body(f)
    })
  }
}

/** Reads a table directly (not through the engine), ordered by key. */
export async function rowsOf(db: AuditedDatabase, table: string): Promise<Record<string, unknown>[]> {
  return (db.kysely as Kysely<Record<string, Record<string, unknown>>>)
    .selectFrom(table)
    .selectAll()
    .orderBy('id')
    .execute()
}

/** Counts change events directly. */
export async function eventCount(db: AuditedDatabase): Promise<number> {
  const r = await (db.kysely as Kysely<{ change_events: { event_id: string } }>)
    .selectFrom('change_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

let seq = 0
/** A unique, sortable id for test rows. */
/**
 * An event id to forge right after `base` in feed order (same position, a larger id):
 * `base` with its last characters raised to Z, as few as make it larger and not `taken`.
 * (Only raising the last two collided whenever `base` ended in ZZ.)
 */
export async function forgedIdAfter(base: string, taken: (id: string) => Promise<boolean>): Promise<string> {
  for (let k = 1; k < base.length; k++) {
    const id = `${base.slice(0, base.length - k)}${'Z'.repeat(k)}`
    if (id > base && !(await taken(id))) return id
  }
  throw new Error(`no id to forge after ${base}`)
}

export function newId(): string {
  seq += 1
  return `p${Date.now().toString(36)}${process.pid.toString(36)}${seq.toString().padStart(6, '0')}`.slice(
    0,
    26,
  )
}

/**
 * A trigger that makes every INSERT into `table` whose `column` starts with `prefix` fail
 * inside the database. On SQLite `sqliteAction` picks RAISE(ABORT) (the statement fails)
 * or RAISE(ROLLBACK) (the whole transaction ends); the server databases fail the statement.
 */
export async function installFailingTrigger(
  db: AuditedDatabase,
  t: {
    name: string
    table: string
    column: string
    prefix: string
    message: string
    sqliteAction?: 'ABORT' | 'ROLLBACK'
  },
): Promise<void> {
  const k = db.kysely as Kysely<unknown>
  const like = `${t.prefix}%`
  const { message } = t
  if (db.dialect === 'sqlite') {
    await sql
      .raw(`CREATE TRIGGER ${t.name} BEFORE INSERT ON ${t.table} WHEN NEW.${t.column} LIKE '${like}'
        BEGIN SELECT RAISE(${t.sqliteAction ?? 'ABORT'}, '${message}'); END`)
      .execute(k)
  } else if (db.dialect === 'postgres') {
    await sql
      .raw(`CREATE FUNCTION ${t.name}() RETURNS trigger AS $$
        BEGIN IF NEW.${t.column} LIKE '${like}' THEN RAISE EXCEPTION '${message}'; END IF; RETURN NEW; END
        $$ LANGUAGE plpgsql`)
      .execute(k)
    await sql
      .raw(`CREATE TRIGGER ${t.name} BEFORE INSERT ON ${t.table} FOR EACH ROW EXECUTE FUNCTION ${t.name}()`)
      .execute(k)
  } else {
    await sql
      .raw(`CREATE TRIGGER ${t.name} BEFORE INSERT ON ${t.table} FOR EACH ROW
        BEGIN IF NEW.${t.column} LIKE '${like}' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${message}'; END IF; END`)
      .execute(k)
  }
}

/** How many `counters` rows named `name` the reading connection sees (committed data only). */
export async function committedCounters(db: AuditedDatabase, name: string): Promise<number> {
  const rows = await (db.readKysely as Kysely<{ counters: { name: string } }>)
    .selectFrom('counters')
    .select('name')
    .where('name', '=', name)
    .execute()
  return rows.length
}
