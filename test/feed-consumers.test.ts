/**
 * Durable consumers on every dialect: in order, at least once, offsets that survive a
 * restart, retries then parking without holding other consumers back, one holder at a
 * time with a fencing token, and the stats operators read.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { createAuditor, type FeedEvent } from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId, PERSONAL_DATA, posts } from './setup.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** A handler that collects the record ids it is handed, and what it collected. */
function collector(): { got: string[]; handler: (events: readonly FeedEvent[]) => void } {
  const got: string[] = []
  return {
    got,
    handler: (events) => {
      for (const e of events) got.push(e.recordId)
    },
  }
}

forEachDialect('durable feed consumers', (f) => {
  const write = async (tenant: string, n: number) => {
    const ids = Array.from({ length: n }, () => newId())
    await f.auditor.createMany(
      posts,
      ids.map((id) => ({ id, title: `c ${id}` })),
      { ...ctx, tenantId: tenant },
    )
    return ids
  }

  /** Another tenant's transaction held open until `release`: on PostgreSQL it holds the
   * events committed meanwhile back (their positions are above its transaction id). SQLite
   * has one writer, so there nothing could commit beside it: no transaction is held. */
  const holdTransaction = async () => {
    let release = () => {}
    const open = new Promise<void>((r) => {
      release = r
    })
    let began = () => {}
    const begun = new Promise<void>((r) => {
      began = r
    })
    const held =
      f.name === 'sqlite'
        ? Promise.resolve(began())
        : f.auditor.transaction({ ...ctx, tenantId: `hold-${newId()}` }, async (tx) => {
            await tx.create(posts, { id: newId(), title: `held ${newId()}` })
            began()
            await open
          })
    await begun
    return { release, held }
  }

  it('hands every event over in feed order and resumes from the stored offset', async () => {
    const tenant = `cons-${newId()}`
    const name = `c-${newId()}`
    const before = await write(tenant, 30)
    const { got, handler } = collector()
    const first = f.auditor.feed.subscribe(name, handler, { tenantId: tenant, batchSize: 7 })
    await until(() => got.length === 30, 10_000, '30 events')
    assert.deepEqual(got, before, 'from the start, in order')
    await first.stop()
    const later = await write(tenant, 12)
    const second = f.auditor.feed.subscribe(name, handler, { tenantId: tenant, batchSize: 7 })
    await until(() => got.length === 42, 10_000, '42 events')
    assert.deepEqual(got, [...before, ...later], 'resumed after the acknowledged offset, nothing twice')
    await second.stop()
  })

  it("'now' starts after the newest event", async () => {
    const tenant = `now-${newId()}`
    await write(tenant, 5)
    const { got, handler } = collector()
    const sub = f.auditor.feed.subscribe(`n-${newId()}`, handler, { tenantId: tenant, from: 'now' })
    await sub.ready
    const fresh = await write(tenant, 3)
    await until(() => got.length === 3)
    assert.deepEqual(got, fresh)
    await sub.stop()
  })

  it("'now' leaves out events committed before it, even those an open transaction holds back", async () => {
    const tenant = `now-held-${newId()}`
    const { release, held } = await holdTransaction()
    await write(tenant, 5)
    const { got, handler } = collector()
    const sub = f.auditor.feed.subscribe(`nh-${newId()}`, handler, { tenantId: tenant, from: 'now' })
    setTimeout(release, 300)
    await sub.ready
    await held
    const fresh = await write(tenant, 3)
    await until(() => got.length >= 3, 10_000, '3 events')
    await sleep(200)
    assert.deepEqual(got, fresh, 'only the events committed after the subscription')
    await sub.stop()
  })

  it("'now' stopped before it is ready stores no offset: a later 'now' start still leaves the earlier events out", async () => {
    const tenant = `now-stop-${newId()}`
    const name = `ns-${newId()}`
    const { release, held } = await holdTransaction()
    await write(tenant, 5)
    const { got, handler } = collector()
    const first = f.auditor.feed.subscribe(name, handler, { tenantId: tenant, from: 'now' })
    await sleep(100)
    await first.stop()
    release()
    await held
    const second = f.auditor.feed.subscribe(name, handler, { tenantId: tenant, from: 'now' })
    await second.ready
    const fresh = await write(tenant, 3)
    await until(() => got.length >= 3, 10_000, '3 events')
    await sleep(200)
    assert.deepEqual(got, fresh, 'none of the 5 earlier events')
    await second.stop()
  })

  it('a failing handler retries with backoff, then parks, without holding others back', async () => {
    const tenant = `park-${newId()}`
    const failing = `fail-${newId()}`
    const healthy: string[] = []
    const attempts: number[] = []
    const reports: { parked: boolean; attempt: number }[] = []
    const bad = f.auditor.feed.subscribe(
      failing,
      (_events, info) => {
        attempts.push(info.attempt)
        throw new Error('sink down')
      },
      {
        tenantId: tenant,
        maxAttempts: 3,
        backoffMs: 20,
        parkMs: 60_000,
        onError: (_e, info) => reports.push({ parked: info.parked, attempt: info.attempt }),
      },
    )
    const good = f.auditor.feed.subscribe(
      `ok-${newId()}`,
      (events) => {
        for (const e of events) healthy.push(e.recordId)
      },
      { tenantId: tenant },
    )
    const ids = await write(tenant, 4)
    await until(() => bad.status().state === 'parked', 10_000, 'parked')
    assert.deepEqual(attempts, [1, 2, 3])
    assert.deepEqual(reports.at(-1), { parked: true, attempt: 3 })
    await until(() => healthy.length === 4)
    assert.deepEqual(healthy, ids, 'the healthy consumer was not held back')
    const stats = await f.auditor.feed.stats()
    const row = stats.consumers.find((c) => c.name === failing)!
    assert.equal(row.state, 'parked')
    assert.equal(row.attempts, 3)
    assert.equal(row.lastError, 'sink down')
    assert.ok(row.lagEvents >= 4, `lag ${row.lagEvents}`)
    assert.ok(row.lagMs >= 0)
    await bad.stop()
    await good.stop()
  })

  it('resume() ends a park: the batch is tried again and the offset moves', async () => {
    const tenant = `resume-${newId()}`
    let broken = true
    const got: string[] = []
    const sub = f.auditor.feed.subscribe(
      `r-${newId()}`,
      (events) => {
        if (broken) throw new Error('down')
        for (const e of events) got.push(e.recordId)
      },
      { tenantId: tenant, maxAttempts: 1, parkMs: 600_000, onError: () => {} },
    )
    const ids = await write(tenant, 2)
    await until(() => sub.status().state === 'parked')
    broken = false
    sub.resume()
    await until(() => got.length === 2)
    assert.deepEqual(got, ids)
    await sub.stop()
  })

  it('one holder at a time; the other takes over when it stops; a fenced holder cannot ack', async () => {
    const tenant = `lease-${newId()}`
    const name = `l-${newId()}`
    // A second auditor stands for another process (leases are per subscription, whatever
    // the process). Not a second SQLite handle here: better-sqlite3 waits for a lock
    // synchronously, so two handles in one thread can block each other until busy_timeout.
    const other = createAuditor({ personalData: PERSONAL_DATA, db: f.db, nodeId: 'other-process' })
    const byA: string[] = []
    const byB: string[] = []
    const a = f.auditor.feed.subscribe(name, (ev) => void byA.push(...ev.map((e) => e.recordId)), {
      tenantId: tenant,
      leaseMs: 1000,
    })
    await until(() => a.status().token !== undefined, 10_000, 'A holds the lease')
    const b = other.feed.subscribe(name, (ev) => void byB.push(...ev.map((e) => e.recordId)), {
      tenantId: tenant,
      leaseMs: 1000,
    })
    const first = await write(tenant, 5)
    await until(() => byA.length === 5)
    await sleep(300)
    assert.equal(byB.length, 0, 'the standby handled nothing')
    assert.equal(b.status().state, 'standby')
    await a.stop()
    const second = await write(tenant, 5)
    await until(() => byB.length === 5, 5000, 'B took over')
    assert.deepEqual(byB, second, 'B continued after A’s offset')
    assert.deepEqual(byA, first)
    // Steal B's lease (as a process whose lease expired would see): its next ack is refused.
    const tokenBefore = b.status().token!
    await f.db.kysely
      .updateTable('audited_consumers' as never)
      .set({ lease_token: tokenBefore + 100, lease_owner: 'thief' } as never)
      .where('name' as never, '=', name as never)
      .execute()
    await write(tenant, 1)
    await until(
      () => b.status().token === undefined || b.status().token! > tokenBefore + 100,
      5000,
      'B fenced',
    )
    await b.stop()
    await other.close()
  })

  it('holdback: stats name the age of the oldest transaction holding the feed back', async () => {
    const stats = await f.auditor.feed.stats()
    assert.ok(Number.isFinite(stats.holdbackMs) && stats.holdbackMs >= 0)
    if (f.name !== 'postgres') {
      assert.equal(
        stats.holdbackMs,
        0,
        'a sequencer hands positions out at COMMIT: nothing holds the feed back',
      )
      return
    }
    let release = () => {}
    const open = new Promise<void>((r) => {
      release = r
    })
    const held = f.auditor.transaction({ ...ctx, tenantId: `hold-${newId()}` }, async (tx) => {
      await tx.create(posts, { id: newId(), title: `held ${newId()}` })
      await open
    })
    await sleep(400)
    const during = await f.auditor.feed.stats()
    release()
    await held
    assert.ok(during.holdbackMs >= 300, `holdback ${during.holdbackMs} ms`)
  })
})
