/**
 * Every `conflict` and `unavailable` names its `details.reason`, and the same situation
 * gives the same code and reason on every database: each one provoked for real, through
 * the library's API (or, for what only a plain query can provoke, the dialect's classifier,
 * which the server applies to every Kysely error too). Pool exhaustion, `timeout` and
 * `aborted` are provoked in test/pressure.test.ts, `circuit_open` and `pool_exhausted` over
 * HTTP in test/http-pressure.test.ts; the HTTP side of these is test/http-error-reasons.test.ts.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import Database from 'better-sqlite3'
import { type Kysely, sql } from 'kysely'
import mysql from 'mysql2/promise'
import pg from 'pg'
import {
  createAuditor,
  defineEntity,
  type ErrorCode,
  type ErrorReason,
  isAuditedError,
  openDatabase,
} from '../packages/audited/src/index.js'
import { holdLock } from './lock-holder.js'
import { ctx, forEachDialect, newId, PERSONAL_DATA, posts } from './setup.js'

/** `e` is an `AuditedError` with exactly this code and reason. */
function isReason<C extends ErrorCode>(code: C, reason: ErrorReason<C>) {
  return (e: unknown) => {
    assert.ok(isAuditedError(e), `an AuditedError, not ${String(e)}`)
    assert.equal(e.code, code, String(e))
    assert.equal(e.details?.reason, reason, String(e))
    return true
  }
}

const parents = defineEntity<{ id: string }>({ table: 'parents' })
const children = defineEntity<{ id: string; parent_id: string }>({ table: 'children' })

type Tables = { posts: { id: string; title: string; body: string | null } }

forEachDialect(
  'error reasons',
  (f) => {
    it('conflict/unique: a second record with the same key, or the same unique value', async () => {
      const id = newId()
      await f.auditor.create(posts, { id, title: `unique ${id}` }, ctx)
      await assert.rejects(
        f.auditor.create(posts, { id, title: `other ${id}` }, ctx),
        isReason('conflict', 'unique'),
      )
      await assert.rejects(
        f.auditor.create(posts, { id: newId(), title: `unique ${id}` }, ctx),
        isReason('conflict', 'unique'),
      )
    })

    it('conflict/version: an update that expects a version the record no longer has', async () => {
      const id = newId()
      await f.auditor.create(posts, { id, title: `versioned ${id}` }, ctx)
      await f.auditor.update(posts, id, { body: 'v2' }, ctx)
      await assert.rejects(
        f.auditor.update(posts, id, { body: 'stale' }, ctx, { expectedVersion: 1 }),
        isReason('conflict', 'version'),
      )
    })

    it('conflict/foreign_key: a reference to a missing record, and deleting a referenced one', async () => {
      const k = f.db.kysely as Kysely<unknown>
      await k.schema
        .createTable('parents')
        .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
        .execute()
      await k.schema
        .createTable('children')
        .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
        .addColumn('parent_id', 'varchar(26)', (c) => c.notNull().references('parents.id'))
        .execute()
      const system = { ...ctx, actorType: 'system' as const }
      const auditor = createAuditor({ personalData: PERSONAL_DATA, db: f.db })
      await assert.rejects(
        auditor.create(children, { id: newId(), parent_id: newId() }, system),
        isReason('conflict', 'foreign_key'),
      )
      const parent = newId()
      await auditor.create(parents, { id: parent }, system)
      await auditor.create(children, { id: newId(), parent_id: parent }, system)
      await assert.rejects(auditor.delete(parents, parent, system), isReason('conflict', 'foreign_key'))
    })

    it('conflict/deadlock: two transactions that lock two rows in opposite orders', {
      skip: f.name === 'sqlite' ? 'SQLite runs one write transaction at a time: no deadlock' : undefined,
    }, async () => {
      const [a, b] = [newId(), newId()]
      await f.auditor.createMany(
        posts,
        [
          { id: a, title: `dl ${a}` },
          { id: b, title: `dl ${b}` },
        ],
        ctx,
      )
      // PostgreSQL looks for deadlocks after 1 s: longer than the suite's statement timeout.
      const db = await f.open({ pool: { statementTimeoutMs: 10_000 } })
      const k = db.kysely as Kysely<Tables>
      let bothLocked!: () => void
      const locked = new Promise<void>((resolve) => {
        bothLocked = resolve
      })
      let first = 0
      const cross = (one: string, other: string) =>
        k.transaction().execute(async (trx) => {
          await trx.updateTable('posts').set({ body: 'x' }).where('id', '=', one).execute()
          if (++first === 2) bothLocked()
          await locked
          await trx.updateTable('posts').set({ body: 'y' }).where('id', '=', other).execute()
        })
      const outcomes = await Promise.allSettled([cross(a, b), cross(b, a)])
      const failed = outcomes.filter((o) => o.status === 'rejected')
      assert.equal(failed.length, 1, 'the database chose one victim')
      const e = f.db.capabilities.classify((failed[0] as PromiseRejectedResult).reason)
      assert.ok(isReason('conflict', 'deadlock')(e))
      assert.equal(e?.retryable, true)
    })

    it('conflict/serialization: a transaction writes a row another commit changed after it read it', async () => {
      const id = newId()
      await f.auditor.create(posts, { id, title: `ser ${id}` }, ctx)
      let error: unknown
      if (f.name === 'sqlite') {
        // A read transaction whose snapshot is older than the last commit cannot write.
        const path = f.url.slice('sqlite:'.length)
        const reader = new Database(path)
        const writer = new Database(path)
        try {
          reader.exec('BEGIN')
          reader.prepare('SELECT title FROM posts WHERE id = ?').get(id)
          writer.prepare("UPDATE posts SET body = 'other' WHERE id = ?").run(id)
          try {
            reader.prepare("UPDATE posts SET body = 'mine' WHERE id = ?").run(id)
          } catch (e) {
            error = e
          }
        } finally {
          if (reader.inTransaction) reader.exec('ROLLBACK')
          reader.close()
          writer.close()
        }
      } else {
        const db = await f.open({ pool: { max: 2 } })
        const k = db.kysely as Kysely<Tables>
        await k
          .connection()
          .execute(async (c) => {
            // MariaDB checks a REPEATABLE READ snapshot only with innodb_snapshot_isolation.
            if (f.name === 'mysql') await sql`SET SESSION innodb_snapshot_isolation = ON`.execute(c)
            await c
              .transaction()
              .setIsolationLevel('repeatable read')
              .execute(async (trx) => {
                await trx.selectFrom('posts').select('title').where('id', '=', id).execute()
                await (f.db.kysely as Kysely<Tables>)
                  .updateTable('posts')
                  .set({ body: 'other' })
                  .where('id', '=', id)
                  .execute()
                await trx.updateTable('posts').set({ body: 'mine' }).where('id', '=', id).execute()
              })
          })
          .catch((e: unknown) => {
            error = e
          })
      }
      assert.ok(error !== undefined, 'the stale write failed')
      const e = f.db.capabilities.classify(error)
      assert.ok(isReason('conflict', 'serialization')(e))
      assert.equal(e?.retryable, true)
    })

    it('unavailable/statement_timeout: a write waits for a lock longer than the database allows', async () => {
      const id = newId()
      await f.auditor.create(posts, { id, title: `locked ${id}` }, ctx)
      // The engine's own deadline is far away: the database gives up first.
      const auditor = createAuditor({ personalData: PERSONAL_DATA, db: f.db, timeoutMs: 20_000 })
      const held = await holdLock(f.name, f.url, id, 'posts')
      try {
        await assert.rejects(auditor.update(posts, id, { body: 'waited' }, ctx), (e) => {
          isReason('unavailable', 'statement_timeout')(e)
          assert.equal((e as { retryable: boolean }).retryable, true)
          return true
        })
      } finally {
        await held.release()
      }
      await auditor.update(posts, id, { body: 'after the lock' }, ctx)
    })

    it('unavailable/unreachable: a database that is not there', {
      skip: f.name === 'sqlite' ? 'SQLite is a file: there is no server to reach' : undefined,
    }, async () => {
      const url = new URL(f.url)
      url.port = '1' // nothing listens there
      await assert.rejects(openDatabase(url.toString()), isReason('unavailable', 'unreachable'))
    })

    // The next statement is either written to the dying socket, or refused by the driver
    // once it has seen the connection close: unreachable both ways.
    for (const settle of [false, true])
      it(`unavailable/unreachable: the connection is killed in the middle of a transaction (${settle ? 'after it closed' : 'at once'})`, {
        skip: f.name === 'sqlite' ? 'SQLite is a file: there is no connection to kill' : undefined,
      }, async () => {
        // One connection: the one the query below reads the id of is the transaction's.
        const db = await f.open({ pool: { max: 1 } })
        const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
        const own =
          f.name === 'postgres'
            ? sql<{ pid: unknown }>`SELECT pg_backend_pid() AS pid`
            : sql<{ pid: unknown }>`SELECT CONNECTION_ID() AS pid`
        const pid = Number((await own.execute(db.kysely)).rows[0]?.pid)
        assert.ok(pid > 0)
        const kill = async () => {
          if (f.name === 'postgres') {
            const admin = new pg.Client({ connectionString: f.url })
            await admin.connect()
            await admin.query('SELECT pg_terminate_backend($1)', [pid])
            await admin.end()
          } else {
            const admin = await mysql.createConnection({ uri: f.url })
            await admin.query(`KILL ${pid}`)
            await admin.end()
          }
        }
        const id = newId()
        await assert.rejects(
          auditor.transaction(ctx, async (tx) => {
            await tx.create(posts, { id, title: `killed ${id}` })
            await kill()
            if (settle) await new Promise((resolve) => setTimeout(resolve, 300))
            await tx.create(posts, { id: newId(), title: `after the kill ${id}` })
          }),
          isReason('unavailable', 'unreachable'),
        )
        // The pool replaces the connection; nothing of the transaction was kept.
        await auditor.create(posts, { id: newId(), title: `recovered ${id}` }, ctx)
        const [row] = await (db.kysely as Kysely<Tables>)
          .selectFrom('posts')
          .select('id')
          .where('id', '=', id)
          .execute()
        assert.equal(row, undefined)
      })
  },
  { db: { pool: { statementTimeoutMs: 500 }, sqlite: { busyTimeoutMs: 100 } } },
)
