/**
 * Two handles on one database in one process (`openDatabase` twice on the same URL: a
 * library and an application each opening their own, a CLI command run in-process) write
 * at the same time without failing. On SQLite each handle has its own connection; a write
 * on the second while the first held a transaction open used to block the whole process in
 * SQLite's busy handler — the first could not commit while the process waited — so it
 * failed with `statement_timeout` ("The database stayed locked too long"). Handles of one
 * file now queue for one writer lock; a read outside a transaction needs no lock at all.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { Kysely } from 'kysely'
import { type Auditor, createAuditor } from '../packages/audited/src/index.js'
import { gate } from './gate.js'
import { ctx, eventCount, forEachDialect, newId, posts, rowsOf } from './setup.js'

/** A transaction of `auditor` that created a row and stays open until `release`. */
async function holdTransaction(auditor: Auditor) {
  const id = newId()
  const begun = gate()
  const letGo = gate()
  const held = auditor.transaction(ctx, async (tx) => {
    await tx.create(posts, { id, title: `held ${id}` })
    begun.open()
    await letGo.wait
  })
  await begun.wait
  return { id, held, release: letGo.open }
}

forEachDialect('two handles on one database in one process', (f) => {
  const short = { sqlite: { busyTimeoutMs: 300 } }

  it('engine writes through both at once all commit, each with its event', { timeout: 60_000 }, async () => {
    // Both handles with a short busy timeout: a connection-level wait fails fast.
    const mine = createAuditor({ db: await f.open(short) })
    const other = createAuditor({ db: await f.open(short) })
    const rowsBefore = (await rowsOf(f.db, 'posts')).length
    const eventsBefore = await eventCount(f.db)
    const ids: string[] = []
    const failures: unknown[] = []
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 25; i++) {
          const id = newId()
          ids.push(id)
          try {
            if (i % 5 === 4) {
              // a multi-write transaction holds the connection across awaits
              await (w % 2 === 0 ? mine : other).transaction(ctx, async (tx) => {
                await tx.create(posts, { id, title: `pair ${id}` })
                await tx.update(posts, id, { title: `paired ${id}` })
              })
            } else await (w % 2 === 0 ? mine : other).create(posts, { id, title: `two ${id}` }, ctx)
          } catch (e) {
            failures.push(e)
          }
        }
      }),
    )
    assert.deepEqual(failures.map(String), [], 'no write failed')
    assert.equal((await rowsOf(f.db, 'posts')).length, rowsBefore + ids.length)
    assert.equal(await eventCount(f.db), eventsBefore + ids.length + ids.length / 5)
    await mine.close()
    await other.close()
  })

  it('a query on one handle waits for the other handle’s open transaction instead of failing', {
    timeout: 60_000,
  }, async () => {
    const first = createAuditor({ db: await f.open(short) })
    const second = await f.open(short)
    const { id, held, release } = await holdTransaction(first)
    // Longer than the short busy timeout: a connection-level wait would have failed.
    setTimeout(release, 600)
    const other = createAuditor({ db: second })
    const mine = newId()
    await other.create(posts, { id: mine, title: `after ${mine}` }, ctx)
    await held
    const titles = new Map((await rowsOf(f.db, 'posts')).map((r) => [String(r.id), String(r.title)]))
    assert.equal(titles.get(id), `held ${id}`)
    assert.equal(titles.get(mine), `after ${mine}`)
    await first.close()
    await other.close()
  })

  it('a read on one handle answers while the other handle holds a transaction open', {
    timeout: 60_000,
  }, async () => {
    const first = createAuditor({ db: await f.open(short) })
    // A short wait for the writer: a read that queued behind the transaction fails fast.
    const second = await f.open({ ...short, pool: { acquireTimeoutMs: 500 } })
    const { id, held, release } = await holdTransaction(first)
    try {
      const rows = await (second.kysely as Kysely<{ posts: { id: string } }>)
        .selectFrom('posts')
        .select('id')
        .where('id', '=', id)
        .execute()
      assert.deepEqual(rows, [], 'it sees what is committed, not the open transaction')
    } finally {
      release() // the read answered (or failed) before the transaction was let go
    }
    await held
    assert.ok((await rowsOf(f.db, 'posts')).some((r) => r.id === id))
    await first.close()
    await second.close()
  })

  it('a read while a stream is open on the same handle waits for it rather than failing', {
    skip:
      f.name === 'sqlite'
        ? undefined
        : 'a pool gives the read another connection; and Kysely streams on PostgreSQL need pg-cursor, which the package does not configure',
  }, async () => {
    const db = await f.open(short)
    const auditor = createAuditor({ db })
    for (let i = 0; i < 3; i++) await auditor.create(posts, { id: newId(), title: `streamed ${i}` }, ctx)
    const kysely = db.kysely as Kysely<{ posts: { id: string; title: string } }>
    let read: Promise<unknown> | undefined
    let streamed = 0
    for await (const _row of kysely.selectFrom('posts').select('id').stream()) {
      streamed += 1
      read ??= kysely.selectFrom('posts').select('id').execute()
      await new Promise((r) => setTimeout(r, 5)) // the stream spans awaits
    }
    assert.ok(streamed >= 3)
    const rows = (await read) as unknown[]
    assert.equal(rows.length, streamed)
    await auditor.close()
  })
})
