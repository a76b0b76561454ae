/**
 * The feed's promise under adversarial load, on every dialect: 16 writers whose
 * transactions stay open for random times before COMMIT (some for seconds while others
 * commit), 10 % rolled back (half in the body, half by a statement that fails inside the
 * COMMIT request, after the events got their positions), at least 20,000 events. A reader
 * following the cursor while they write sees every committed event exactly once, never a
 * rolled-back one, each writer's transactions in the order it committed them, and the
 * same order when it reads again from the start.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { createAuditor, type FeedEvent } from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId, PERSONAL_DATA, posts } from './setup.js'

const WRITERS = 16
const TARGET_EVENTS = 20_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

forEachDialect('feed order under concurrent writers', (f) => {
  it('a cursor reader sees every committed event once, in a stable order', { timeout: 240_000 }, async () => {
    const tenant = `feed-${newId()}`
    const tctx = { ...ctx, tenantId: tenant }
    // SQLite has one writer: a transaction held open holds every other writer, so long
    // holds are rarer there (1 % instead of 10 %) and the writers may wait longer.
    const sqlite = f.name === 'sqlite'
    const db = await f.open({ pool: { max: WRITERS + 4, acquireTimeoutMs: 20_000 } })
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db,
      timeoutMs: 30_000,
      hooks: {
        before: (c) => {
          // A statement that fails inside the COMMIT request, after the events' INSERT.
          if (c.ctx.metadata?.failInCommit === true && c.writeIndex === 0)
            c.defer(db.kysely.selectFrom('audited_no_such_table').selectAll())
        },
      },
    })
    const committed: string[][] = Array.from({ length: WRITERS }, () => [])
    const rolledBack = new Set<string>()
    let total = 0
    let stop = false

    async function writer(w: number): Promise<void> {
      while (!stop && total < TARGET_EVENTS) {
        const n = 10 + Math.floor(Math.random() * 31)
        const ids = Array.from({ length: n }, () => newId())
        const roll = Math.random()
        const held = Math.random() < (sqlite ? 0.01 : 0.1)
        const delay = held ? 500 + Math.random() * 2500 : Math.random() * (sqlite ? 3 : 20)
        const failInBody = roll < 0.05
        const failInCommit = roll >= 0.05 && roll < 0.1
        const meta = failInCommit ? { ...tctx, metadata: { failInCommit: true } } : tctx
        try {
          await auditor.transaction(meta, async (tx) => {
            await tx.createMany(
              posts,
              ids.map((id) => ({ id, title: `w${w} ${id}` })),
            )
            await sleep(delay)
            if (failInBody) throw new Error('rolled back on purpose')
          })
          assert.equal(failInBody || failInCommit, false, 'a transaction meant to fail committed')
          committed[w]!.push(...ids)
          total += n
        } catch (e) {
          if (!(failInBody || failInCommit)) throw e
          for (const id of ids) rolledBack.add(id)
        }
      }
    }

    const seen: FeedEvent[] = []
    async function follow(until: () => boolean): Promise<string | undefined> {
      let cursor: string | undefined
      for (;;) {
        const done = until()
        const page = await auditor.feed.read({ tenantId: tenant, after: cursor, limit: 1000 })
        seen.push(...page.events)
        cursor = page.cursor
        if (page.events.length === 0) {
          if (done) return cursor
          await sleep(5)
        }
      }
    }

    let writersDone = false
    const reader = follow(() => writersDone)
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)))
    } finally {
      writersDone = true
      stop = true
    }
    await reader

    const all = committed.flat()
    assert.ok(all.length >= TARGET_EVENTS, `${all.length} events committed`)
    assert.ok(rolledBack.size > 0, 'some transactions rolled back')
    const ids = seen.map((e) => e.recordId)
    assert.equal(new Set(ids).size, ids.length, 'no event was read twice')
    assert.equal(ids.filter((id) => rolledBack.has(id)).length, 0, 'no rolled-back event was read')
    assert.deepEqual([...ids].sort(), [...all].sort(), 'every committed event was read')

    // Each writer's transactions in the order it committed them.
    const index = new Map(ids.map((id, i) => [id, i]))
    for (const list of committed) {
      for (let i = 1; i < list.length; i++)
        assert.ok(index.get(list[i]!)! > index.get(list[i - 1]!)!, 'a later commit of a writer reads later')
    }

    // Read again from the start: the same order.
    const again: string[] = []
    let cursor: string | undefined
    for (;;) {
      const page = await auditor.feed.read({ tenantId: tenant, after: cursor, limit: 1000 })
      if (page.events.length === 0) break
      again.push(...page.events.map((e) => e.eventId))
      cursor = page.cursor
    }
    assert.deepEqual(
      again,
      seen.map((e) => e.eventId),
      'a re-read gives the same order',
    )
    await auditor.close()
  })
})
