/** Review: tenant isolation, MySQL read-back, restore fidelity, MySQL deadlock. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type Kysely, sql } from 'kysely'
import { createAuditor, defineEntity, isAuditedError } from '../packages/audited/src/index.js'
import { counters, ctx, forEachDialect, newId, PERSONAL_DATA, posts, rowsOf } from './setup.js'

forEachDialect('regressions: isolation', (f) => {
  it('MySQL: a key that is not AUTO_INCREMENT cannot be read back through a stale LAST_INSERT_ID', async (t) => {
    if (f.name !== 'mysql') {
      return t.skip(
        'LAST_INSERT_ID() is MySQL’s; SQLite and PostgreSQL read generated keys back with RETURNING',
      )
    }
    const k = f.db.kysely as Kysely<unknown>
    await sql`CREATE SEQUENCE seqt_s START WITH 50`.execute(k)
    await sql`CREATE TABLE seqt (id INT PRIMARY KEY DEFAULT NEXTVAL(seqt_s), tenant_id VARCHAR(64) NOT NULL, title VARCHAR(100))`.execute(
      k,
    )
    await sql`INSERT INTO seqt (id, tenant_id, title) VALUES (1, 'other', 'other tenant secret')`.execute(k)
    const db = await f.open({ pool: { max: 1 } })
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
    const seqt = defineEntity<{ id: number; tenant_id: string; title: string }>({
      table: 'seqt',
      tenantColumn: 'tenant_id',
    })
    await auditor.create(counters, { name: 'c' }, ctx) // sets LAST_INSERT_ID on the only connection
    await assert.rejects(
      auditor.create(seqt, { title: 'mine' }, ctx),
      (e: unknown) => isAuditedError(e) && e.code === 'validation',
      'never return (or audit) another row',
    )
    assert.equal(
      (await rowsOf(f.db, 'seqt')).some((r) => r.title === 'mine'),
      false,
    )
    await auditor.create(seqt, { id: 77, title: 'mine' }, ctx) // with its key it works
  })

  it('restore of a bytes column writes back the bytes, not their base64 text', async () => {
    const k = f.db.kysely as Kysely<unknown>
    const blob = f.name === 'postgres' ? 'bytea' : 'blob'
    await sql`CREATE TABLE files (id VARCHAR(26) PRIMARY KEY, data ${sql.raw(blob)})`.execute(k)
    const files = defineEntity<{ id: string; data: Buffer }>({ table: 'files', columns: { data: 'bytes' } })
    const id = newId()
    const original = Buffer.from([0, 1, 2, 250, 255])
    await f.auditor.create(files, { id, data: original }, ctx)
    await f.auditor.update(files, id, { data: Buffer.from([9]) }, ctx)
    const [created] = (await f.auditor.events.history(files, id)).events
    await f.auditor.restore(files, id, created!.eventId, ctx)
    const row = (await rowsOf(f.db, 'files')).find((r) => r.id === id)!
    assert.deepEqual(Buffer.from(row.data as Uint8Array), original)
  })

  it('MySQL: a deadlock caught inside transaction() never commits the victim’s events', async (t) => {
    if (f.name !== 'mysql') {
      return t.skip(
        'only InnoDB rolls the whole transaction back on deadlock and then autocommits; SQLite has no deadlocks and PostgreSQL keeps the transaction aborted (pressure.test.ts covers its retry)',
      )
    }
    const r1 = newId()
    const r2 = newId()
    await f.auditor.create(posts, { id: r1, title: `r1 ${r1}` }, ctx)
    await f.auditor.create(posts, { id: r2, title: `r2 ${r2}` }, ctx)
    let openA!: () => void
    let openB!: () => void
    const aLocked = new Promise<void>((r) => {
      openA = r
    })
    const bLocked = new Promise<void>((r) => {
      openB = r
    })
    const a = f.auditor.transaction(ctx, async (tx) => {
      await tx.update(posts, r1, { title: `A1 ${r1}` })
      openA()
      await bLocked
      try {
        await tx.update(posts, r2, { title: `A2 ${r2}` })
      } catch {} // e.g. treating 'conflict' as a unique clash and moving on
    })
    const b = f.auditor.transaction(ctx, async (tx) => {
      await aLocked
      await tx.update(posts, r2, { title: `B2 ${r2}` })
      openB()
      try {
        await tx.update(posts, r1, { title: `B1 ${r1}` })
      } catch {}
    })
    await Promise.allSettled([a, b])
    const rows = await rowsOf(f.db, 'posts')
    for (const id of [r1, r2]) {
      const hist = (await f.auditor.events.history(posts, id)).events
      const row = rows.find((r) => r.id === id)!
      assert.equal(hist.at(-1)!.newValues!.title, row.title, `latest event of ${id} matches its row`)
      for (let i = 1; i < hist.length; i++)
        assert.deepEqual(hist[i]!.oldValues, hist[i - 1]!.newValues, `linear history of ${id} (event ${i})`)
    }
  })
})
