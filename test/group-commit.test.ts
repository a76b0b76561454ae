/**
 * Concurrent writes that share COMMITs (SQLite's group commit, sqlite-group-commit.ts) keep
 * every invariant: a caller told "committed" finds its row and its event, a failed caller
 * leaves nothing, and one member's failure never fails the others. The same bodies run on
 * PostgreSQL and MariaDB, where every transaction commits alone, as the reference.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type Kysely, sql } from 'kysely'
import { defineEntity, isAuditedError } from '../packages/audited/src/index.js'
import { committedCounters, ctx, eventCount, forEachDialect, newId, posts, rowsOf } from './setup.js'

const isCode = (e: unknown, code: string) => isAuditedError(e) && e.code === code

interface Link {
  id: string
  post_id: string
}
const links = defineEntity<Link>({ table: 'links' })

/** Events per record id, read directly. */
async function eventsByRecord(f: { db: { kysely: Kysely<unknown> } }): Promise<Map<string, number>> {
  const rows = await (f.db.kysely as Kysely<{ change_events: { record_id: string } }>)
    .selectFrom('change_events')
    .select('record_id')
    .execute()
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(r.record_id, (counts.get(r.record_id) ?? 0) + 1)
  return counts
}

forEachDialect('concurrent writes sharing commits', (f) => {
  it('a burst with failures mixed in commits exactly the successes, each with its event', async () => {
    const before = f.db.capabilities.commitStats?.()
    const taken = newId()
    await f.auditor.create(posts, { id: taken, title: `taken ${taken}` }, ctx)
    const ops = Array.from({ length: 60 }, (_, i) => {
      const id = newId()
      const second = newId()
      if (i % 4 === 1) {
        // a unique violation inside the transaction: this caller fails, alone
        return {
          ids: [id],
          ok: false,
          run: () => f.auditor.create(posts, { id, title: `taken ${taken}` }, ctx),
        }
      }
      if (i % 7 === 3) {
        // the caller's own code fails after its write reached the database
        return {
          ids: [id],
          ok: false,
          run: () =>
            f.auditor.transaction(ctx, async (tx) => {
              await tx.create(posts, { id, title: `doomed ${id}` })
              throw new Error('caller gave up')
            }),
        }
      }
      if (i % 5 === 0) {
        return {
          ids: [id, second],
          ok: true,
          run: () =>
            f.auditor.transaction(ctx, async (tx) => {
              await tx.create(posts, { id, title: `pair a ${id}` })
              await tx.create(posts, { id: second, title: `pair b ${second}` })
            }),
        }
      }
      return { ids: [id], ok: true, run: () => f.auditor.create(posts, { id, title: `single ${id}` }, ctx) }
    })
    const outcomes = await Promise.allSettled(ops.map((op) => op.run()))
    const rows = new Set((await rowsOf(f.db, 'posts')).map((r) => String(r.id)))
    const events = await eventsByRecord(f)
    outcomes.forEach((outcome, i) => {
      const op = ops[i]!
      assert.equal(outcome.status === 'fulfilled', op.ok, `op ${i}: ${JSON.stringify(outcome)}`)
      if (outcome.status === 'rejected' && op.ids.length === 1 && i % 4 === 1)
        assert.ok(isCode(outcome.reason, 'conflict'), `op ${i} is a conflict`)
      for (const id of op.ids) {
        assert.equal(rows.has(id), op.ok, `op ${i}: row ${id} ${op.ok ? 'missing' : 'left behind'}`)
        assert.equal(events.get(id) ?? 0, op.ok ? 1 : 0, `op ${i}: events of ${id}`)
      }
    })
    const after = f.db.capabilities.commitStats?.()
    if (f.name === 'sqlite') {
      assert.ok(before !== undefined && after !== undefined, 'SQLite reports its commit statistics')
      const transactions = after.transactions - before.transactions
      const commits = after.commits - before.commits
      const succeeded = ops.filter((o) => o.ok).length + 1
      assert.ok(transactions >= succeeded, `${transactions} committed transactions ≥ ${succeeded}`)
      assert.ok(commits < transactions, `queued transactions shared COMMITs: ${commits} for ${transactions}`)
    } else {
      assert.equal(after, undefined, 'where each transaction commits alone there are no statistics')
    }
  })

  it('a Kysely query queued behind grouped transactions runs outside them (its write is committed when it returns)', async () => {
    const k = f.db.kysely as Kysely<{ counters: { name: string; n: number } }>
    const writes = Array.from({ length: 20 }, () => {
      const id = newId()
      return f.auditor.create(posts, { id, title: `around ${id}` }, ctx)
    })
    const name = `plain ${newId()}`
    await k.insertInto('counters').values({ name, n: 1 }).execute()
    // The reading connection sees committed data only (on SQLite a second connection).
    assert.equal(await committedCounters(f.db, name), 1, 'the plain insert is committed once it has returned')
    await Promise.all(writes)
  })

  it('a write whose transaction is held open delays, but never fails, the writes queued behind it', async () => {
    const slowId = newId()
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = f.auditor.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: slowId, title: `slow ${slowId}` })
      await gate
    })
    const quick = Array.from({ length: 10 }, () => {
      const id = newId()
      return f.auditor.create(posts, { id, title: `quick ${id}` }, ctx).then(() => id)
    })
    setTimeout(release, 50)
    const ids = await Promise.all(quick)
    await slow
    const rows = new Set((await rowsOf(f.db, 'posts')).map((r) => String(r.id)))
    for (const id of [slowId, ...ids]) assert.ok(rows.has(id), `row ${id} committed`)
  })
})

forEachDialect('a deferred constraint among concurrent writes', (f) => {
  it('fails only the transaction that breaks it', {
    skip:
      f.name === 'mysql'
        ? 'MySQL and MariaDB have no DEFERRABLE constraints: every violation fails its own statement'
        : undefined,
  }, async () => {
    const k = f.db.kysely as Kysely<unknown>
    await sql`CREATE TABLE links (id varchar(26) PRIMARY KEY, post_id varchar(26) REFERENCES posts (id) DEFERRABLE INITIALLY DEFERRED)`.execute(
      k,
    )
    const eventsBefore = await eventCount(f.db)
    const goodIds = Array.from({ length: 12 }, () => newId())
    const badId = newId()
    const good = goodIds.map((id) => f.auditor.create(posts, { id, title: `neighbour ${id}` }, ctx))
    const bad = f.auditor.create(links, { id: badId, post_id: 'no such post' }, { ...ctx, tenantId: null })
    const [badOutcome, ...goodOutcomes] = await Promise.allSettled([bad, ...good])
    assert.equal(badOutcome!.status, 'rejected')
    assert.ok(
      isCode((badOutcome as PromiseRejectedResult).reason, 'conflict'),
      'a broken reference is a conflict',
    )
    for (const o of goodOutcomes) assert.equal(o.status, 'fulfilled', JSON.stringify(o))
    const rows = new Set((await rowsOf(f.db, 'posts')).map((r) => String(r.id)))
    for (const id of goodIds) assert.ok(rows.has(id), `neighbour ${id} committed`)
    assert.equal(
      await eventCount(f.db),
      eventsBefore + goodIds.length,
      'one event per neighbour, none for the link',
    )
    assert.equal((await rowsOf(f.db, 'links')).length, 0)
  })
})

forEachDialect('a database that runs out of space mid-group', (f) => {
  it('reports every write as it ended: a write told "committed" is there, a failed one is not', {
    skip:
      f.name === 'sqlite'
        ? undefined
        : 'the size cap (PRAGMA max_page_count) is SQLite’s; the server databases commit each transaction alone',
  }, async () => {
    const k = f.db.kysely as Kysely<unknown>
    const pages = Number(
      (await sql<{ page_count: number }>`PRAGMA page_count`.execute(k)).rows[0]!.page_count,
    )
    assert.ok(pages > 0, `page_count ${pages}`)
    await sql.raw(`PRAGMA max_page_count = ${pages + 40}`).execute(k)
    try {
      const big = 'x'.repeat(30_000)
      const ops = Array.from({ length: 24 }, (_, i) => {
        const id = newId()
        return {
          id,
          run: () =>
            f.auditor.create(posts, { id, title: `full ${id}`, body: i % 3 === 2 ? big : 'small' }, ctx),
        }
      })
      const outcomes = await Promise.allSettled(ops.map((o) => o.run()))
      assert.ok(
        outcomes.some((o) => o.status === 'rejected'),
        'the cap is small enough that some writes fail',
      )
      const rows = new Set((await rowsOf(f.db, 'posts')).map((r) => String(r.id)))
      const events = await eventsByRecord(f)
      const reasons = new Set<string>()
      outcomes.forEach((o, i) => {
        const { id } = ops[i]!
        const ok = o.status === 'fulfilled'
        if (!ok) {
          const e = (o as PromiseRejectedResult).reason
          assert.ok(isAuditedError(e), 'a classified error')
          // The write that hit the cap is out of space; the others of its group were rolled back with it.
          assert.equal(e.code, 'unavailable', String(e))
          assert.ok(['out_of_resources', 'rolled_back'].includes(String(e.details?.reason)), String(e))
          reasons.add(String(e.details?.reason))
        }
        assert.equal(rows.has(id), ok, `write ${i} (${o.status}) row`)
        assert.equal(events.get(id) ?? 0, ok ? 1 : 0, `write ${i} (${o.status}) events`)
      })
      assert.ok(reasons.has('out_of_resources'), `a write was refused for space: ${[...reasons]}`)
    } finally {
      await sql.raw('PRAGMA max_page_count = 1073741823').execute(k)
    }
    // the writer is usable again
    const id = newId()
    await f.auditor.create(posts, { id, title: `after ${id}` }, ctx)
    assert.ok((await rowsOf(f.db, 'posts')).some((r) => r.id === id))
  })
})
