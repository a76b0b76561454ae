/**
 * R7 (MySQL): `migrate` never runs without the migration lock (GET_LOCK's answer is
 * checked), and the pool figures come from our own counting, not mysql2's private fields.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import mysql from 'mysql2/promise'
import type { Lease } from '../packages/audited/src/db/dialect.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import { type AuditedDatabase, openDatabase } from '../packages/audited/src/db/open-database.js'
import { DIALECTS } from './setup.js'

const d = DIALECTS.find((x) => x.name === 'mysql')!
/** The migration lock of the connection's database (named locks are server-wide). */
const LOCK = "CONCAT('audited_migrate:', LEFT(SHA1(DATABASE()), 40))"

/** Polls until `check` holds (the lock wait is server-side; no timing is asserted). */
async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await sleep(25)
  }
  assert.fail(`timed out waiting for ${what}`)
}

describe('R7: MySQL migration lock and pool stats [mysql]', { skip: d.skip }, () => {
  let url: string
  let drop: () => Promise<void>
  before(async () => {
    const created = await d.create()
    url = created.url
    drop = created.drop
  })
  after(async () => drop?.())

  it('R7: a migration whose GET_LOCK did not succeed fails with unavailable and applies nothing', async () => {
    const holder = await mysql.createConnection({ uri: url })
    const killer = await mysql.createConnection({ uri: url })
    const db = await openDatabase(url)
    try {
      const [held] = await holder.query(`SELECT GET_LOCK(${LOCK}, 0) AS got`)
      assert.equal((held as { got: number }[])[0]!.got, 1)
      const running = migrate(db).then(
        () => 'applied',
        (e: { code?: string; message?: string }) => e,
      )
      // The migration waits for the lock; interrupting that wait makes GET_LOCK answer NULL
      // (as a timeout makes it answer 0): either way the lock is not ours.
      let waiter: number | undefined
      await until(async () => {
        const [rows] = await killer.query(
          "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT GET_LOCK(%audited_migrate%' AND id <> ?",
          [holder.threadId],
        )
        waiter = (rows as { id: number }[])[0]?.id
        return waiter !== undefined
      }, 'the migration to wait for the lock')
      await killer.query(`KILL QUERY ${waiter}`)
      const outcome = await running
      assert.notEqual(outcome, 'applied', 'migrate must not run without the lock')
      const e = outcome as { code?: string; message?: string }
      assert.equal(e.code, 'unavailable')
      assert.match(String(e.message), /migration lock/i)
      const [tables] = await killer.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'audited_migrations'",
      )
      assert.equal((tables as unknown[]).length, 0, 'nothing was applied')
      await holder.query(`SELECT RELEASE_LOCK(${LOCK})`)
      assert.ok((await migrate(db)).length > 0, 'with the lock free, migrate works')
    } finally {
      await db.close()
      await holder.end()
      await killer.end()
    }
  })

  it('R7: the migration lock is per database: one held on another database of the server does not block', async () => {
    const other = await d.create()
    const mine = await d.create()
    const holder = await mysql.createConnection({ uri: other.url })
    const db = await openDatabase(mine.url)
    try {
      // The other database's migration holds its lock, taken with the dialect's own statement.
      const [held] = await holder.query(db.capabilities.migrationLock!.lock)
      assert.equal((held as { acquired: number }[])[0]!.acquired, 1)
      assert.ok((await migrate(db)).length > 0, 'migrated while the other database was locked')
    } finally {
      await db.close()
      await holder.end()
      await other.drop()
      await mine.drop()
    }
  })

  it("R7: poolStats counts connections itself (total, idle, waiting), without mysql2's private fields", async () => {
    const source = readFileSync(
      new URL('../packages/audited/src/db/dialects/mysql.ts', import.meta.url),
      'utf8',
    )
    assert.doesNotMatch(source, /_allConnections|_freeConnections|_connectionQueue/)
    const db: AuditedDatabase = await openDatabase(url, { pool: { max: 2 } })
    const stats = () => db.capabilities.poolStats()
    try {
      // openDatabase's probe left one connection, now idle.
      assert.deepEqual(stats(), { total: 1, idle: 1, waiting: 0 })
      const a = await db.capabilities.acquire(5000)
      const b = await db.capabilities.acquire(5000)
      assert.deepEqual(stats(), { total: 2, idle: 0, waiting: 0 })
      let third: Lease | undefined
      const pending = db.capabilities.acquire(5000).then((l) => {
        third = l
      })
      await until(() => stats().waiting === 1, 'the third acquire to wait')
      assert.deepEqual(stats(), { total: 2, idle: 0, waiting: 1 })
      a.release()
      await pending
      assert.deepEqual(stats(), { total: 2, idle: 0, waiting: 0 }, 'the connection went to the waiter')
      b.release()
      assert.deepEqual(stats(), { total: 2, idle: 1, waiting: 0 })
      third!.release(true) // destroyed: no longer in the pool
      assert.deepEqual(stats(), { total: 1, idle: 1, waiting: 0 })
      // Kysely's own queries go through the same pool and are counted too.
      await db.kysely.selectNoFrom((eb) => eb.lit(1).as('one')).execute()
      assert.deepEqual(stats(), { total: 1, idle: 1, waiting: 0 })
    } finally {
      await db.close()
    }
  })
})
