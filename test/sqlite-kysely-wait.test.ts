/**
 * Issue 7 (left over from R3/R9): on SQLite the application's own Kysely queries share the
 * one writer connection with engine transactions. Their wait for it is bounded by the pool's
 * `acquireTimeoutMs`, as every other wait is: a transaction holding the writer makes a
 * Kysely query fail with `unavailable` / `pool_exhausted`, not wait without end. SQLite only:
 * PostgreSQL and MySQL queries come from their pools, whose waits were already bounded.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { isAuditedError } from '../packages/audited/src/core/errors.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { createTestTables, ctx, newId, PERSONAL_DATA, posts } from './setup.js'

describe('SQLite: a Kysely query waits for the writer at most acquireTimeoutMs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'audited-kysely-wait-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('fails with unavailable / pool_exhausted while a transaction holds the writer, and works after', async () => {
    const db = await openDatabase(`sqlite:${join(dir, 'w.db')}`, { pool: { acquireTimeoutMs: 100 } })
    try {
      await migrate(db)
      await createTestTables(db)
      const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
      let release!: () => void
      const held = new Promise<void>((r) => {
        release = r
      })
      let started!: () => void
      const inside = new Promise<void>((r) => {
        started = r
      })
      const tx = auditor.transaction(ctx, async (w) => {
        await w.create(posts, { id: newId(), title: 'holding the writer' })
        started()
        await held
      })
      await inside
      const query = sql`UPDATE posts SET views = views + 1`.execute(db.kysely)
      // Without a bound the query would simply wait; the transaction ends 2 s later.
      const timer = setTimeout(release, 2000)
      const outcome = await query.then(
        () => 'ran after waiting',
        (e: unknown) => e,
      )
      clearTimeout(timer)
      release()
      await tx
      assert.ok(isAuditedError(outcome), String(outcome))
      assert.equal(outcome.code, 'unavailable')
      assert.equal(outcome.details?.reason, 'pool_exhausted')
      await sql`UPDATE posts SET views = views + 1`.execute(db.kysely)
    } finally {
      await db.close()
    }
  })
})
