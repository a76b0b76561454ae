/** Regressions found in review: a row must never commit without its event, and the runner
 * must honour aborts and release the ordering horizon. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { Kysely } from 'kysely'
import { createAuditor, isAuditedError } from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId, PERSONAL_DATA, posts, rowsOf } from './setup.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function eventsOf(db: { kysely: unknown }, id: string) {
  return (db.kysely as Kysely<{ change_events: { event_id: string; record_id: string } }>)
    .selectFrom('change_events')
    .select('event_id')
    .where('record_id', '=', id)
    .execute()
}

forEachDialect('regressions: atomicity', (f) => {
  it('a write that failed inside transaction() stops the commit even if the caller caught it', async () => {
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: {
        before: (c) => {
          if ((c.after as { title?: string } | null)?.title === 'forbidden') throw new Error('no')
        },
      },
    })
    const id = newId()
    await auditor.create(posts, { id, title: `ok ${id}` }, ctx)
    const before = (await eventsOf(f.db, id)).length
    await assert.rejects(
      auditor.transaction(ctx, async (tx) => {
        try {
          await tx.update(posts, id, { title: 'forbidden' })
        } catch (e) {
          assert.ok(isAuditedError(e) && e.code === 'rejected')
        }
      }),
      (e: unknown) => isAuditedError(e) && e.code === 'rejected',
    )
    const row = (await rowsOf(f.db, 'posts')).find((r) => r.id === id)
    const after = (await eventsOf(f.db, id)).length
    assert.deepEqual(
      { title: row?.title, events: after },
      { title: `ok ${id}`, events: before },
      'the rejected update must not be committed without an event',
    )
  })

  it('createMany: a rejected row fails the whole transaction even if the caller caught it', async () => {
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: {
        before: (c) => {
          if ((c.after as { title?: string } | null)?.title?.startsWith('bad')) throw new Error('no')
        },
      },
    })
    const ids = [newId(), newId(), newId()]
    const done = auditor.transaction(ctx, async (tx) => {
      try {
        await tx.createMany(posts, [
          { id: ids[0], title: `good ${ids[0]}` },
          { id: ids[1], title: `bad ${ids[1]}` },
          { id: ids[2], title: `good ${ids[2]}` },
        ])
      } catch {
        // caught on purpose: the transaction must still refuse to commit
      }
    })
    await assert.rejects(done, (e: unknown) => isAuditedError(e) && e.code === 'rejected')
    const rows = (await rowsOf(f.db, 'posts')).filter((r) => ids.includes(String(r.id)))
    const events = (await Promise.all(ids.map((id) => eventsOf(f.db, id)))).map((e) => e.length)
    assert.deepEqual({ rows: rows.length, events }, { rows: 0, events: [0, 0, 0] })
  })

  it('a stuck before hook releases the events.list horizon at its timeout', async () => {
    let stuckOnce = true
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      timeoutMs: 300,
      hooks: {
        before: async (c) => {
          if ((c.after as { title?: string } | null)?.title === 'hang' && stuckOnce) {
            stuckOnce = false
            await new Promise(() => {}) // never returns
          }
        },
      },
    })
    const tenant = `hz-${newId()}`
    const tctx = { ...ctx, tenantId: tenant }
    await assert.rejects(
      auditor.create(posts, { id: newId(), title: 'hang' }, tctx),
      (e: unknown) => isAuditedError(e) && e.code === 'unavailable',
    )
    const id = newId()
    await auditor.create(posts, { id, title: `later ${id}` }, tctx)
    await sleep(500)
    const page = await auditor.events.list({ tenantId: tenant })
    assert.equal(page.events.length, 1, 'the committed later event must become listable')
  })

  it('an abort while waiting for a connection stops the write', async () => {
    // Hold the only connection / writer with a transaction that waits.
    const db = await f.open({ pool: { max: 1, acquireTimeoutMs: 2000 } })
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
    let release!: () => void
    const held = new Promise<void>((r) => {
      release = r
    })
    const holder = auditor.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: newId(), title: `holder ${newId()}` })
      await held
    })
    await sleep(50)
    const controller = new AbortController()
    const id = newId()
    // The outcome is observed at once: the abort now rejects the waiting call immediately
    // (issue 7 R3), before the holder is released.
    const waiting = auditor
      .create(posts, { id, title: `aborted ${id}` }, { ...ctx, signal: controller.signal })
      .then(
        () => 'resolved',
        (e) => `rejected ${(e as { code?: string }).code}`,
      )
    await sleep(50)
    controller.abort()
    await sleep(20)
    release()
    await holder
    const outcome = await waiting
    const committed = (await rowsOf(f.db, 'posts')).some((r) => r.id === id)
    assert.deepEqual({ outcome, committed }, { outcome: 'rejected unavailable', committed: false })
  })
})
