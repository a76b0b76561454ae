/**
 * R2 (issue 7): `HlcClock.observe` is bounded like `receive`. A value from a clock too far
 * ahead does not drag this process's clock into the future; the refusal is counted (and
 * shown on /metrics). The write that read it still orders after it: per record, HLC order
 * stays commit order.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createAuditor, HlcClock, unpackHlc } from '../packages/audited/src/index.js'
import { ServerMetrics } from '../packages/cms/src/server/metrics.js'
import { forEachHttpDialect } from './http-setup.js'
import { ctx, forEachDialect, newId, PERSONAL_DATA, posts } from './setup.js'

const HOUR = 3_600_000
const pack = (wall: number, counter = 0) => (BigInt(wall) << 16n) | BigInt(counter)

describe('R2: HlcClock.observe skew bound', () => {
  it('R2: observe refuses a value beyond maxDriftMs, counts it, and leaves the clock alone', () => {
    let t = 1_000_000
    const clock = new HlcClock({ physical: () => t, maxDriftMs: 1000 })
    const a = clock.now()
    assert.equal(clock.observe(pack(t + HOUR)), false)
    assert.equal(clock.skewRefusals, 1)
    assert.equal(clock.peek(), a, 'the clock did not move')
    assert.equal(unpackHlc(clock.now()).wall, BigInt(t))
    // Within the bound (exactly maxDriftMs ahead) it is accepted as before.
    const near = pack(t + 1000, 5)
    assert.equal(clock.observe(near), true)
    assert.ok(clock.now() > near)
    assert.equal(clock.skewRefusals, 1)
    // receive's refusals are counted too.
    assert.throws(() => clock.receive(pack(t + HOUR)))
    assert.equal(clock.skewRefusals, 2)
    t += HOUR // once physical time catches up, the same value is fine
    assert.equal(clock.observe(pack(t - 10)), true)
  })

  it('R2: ServerMetrics shows the refusals as audited_hlc_skew_refusals_total', async () => {
    const clock = new HlcClock({ maxDriftMs: 1000 })
    const metrics = new ServerMetrics(() => ({ total: 1, idle: 1, waiting: 0 }))
    metrics.watchClock(clock)
    metrics.watchClock(clock) // idempotent: one app per metrics object, but never a crash
    clock.observe(pack(Date.now() + HOUR))
    clock.observe(pack(Date.now() + HOUR))
    assert.match(await metrics.registry.metrics(), /^audited_hlc_skew_refusals_total 2$/m)
  })
})

forEachDialect('R2: an event from a clock far ahead', (f) => {
  it('R2: the next write of that record orders after it without dragging the clock', async () => {
    const ahead = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      nodeId: 'ahead',
      clock: new HlcClock({ physical: () => Date.now() + HOUR }),
    })
    const clock = new HlcClock()
    const local = createAuditor({ personalData: PERSONAL_DATA, db: f.db, nodeId: 'local', clock })
    const id = newId()
    await ahead.create(posts, { id, title: `r2-${id}` }, ctx)
    await local.update(posts, id, { title: `r2-${id}-a` }, ctx)
    await local.transaction(ctx, async (tx) => {
      await tx.update(posts, id, { title: `r2-${id}-b` })
      await tx.update(posts, id, { title: `r2-${id}-c` })
    })
    assert.ok(clock.skewRefusals >= 1, 'the future value was refused')
    const history = (await local.events.history(posts, id, { tenantId: 'acme' })).events
    assert.deepEqual(
      history.map((e) => e.newValues?.title),
      [`r2-${id}`, `r2-${id}-a`, `r2-${id}-b`, `r2-${id}-c`],
      'HLC order is commit order for the record',
    )
    for (let i = 1; i < history.length; i++) assert.ok(BigInt(history[i]!.hlc) > BigInt(history[i - 1]!.hlc))
    // The process clock was not dragged an hour ahead: another record's event is "now".
    const other = newId()
    await local.create(posts, { id: other, title: `r2-${other}` }, ctx)
    const [event] = (await local.events.history(posts, other, { tenantId: 'acme' })).events
    const wall = Number(unpackHlc(BigInt(event!.hlc)).wall)
    assert.ok(Math.abs(wall - Date.now()) < HOUR / 2, `wall ${wall} is near now`)
    assert.ok(unpackHlc(clock.peek()).wall < BigInt(Date.now() + HOUR / 2))
  })
})

forEachHttpDialect('R2: /metrics', (f) => {
  it('R2: /metrics counts the clock refusals of the auditor', async () => {
    const read = async () => {
      const res = await f.app.inject({ method: 'GET', url: '/metrics' })
      const m = /^audited_hlc_skew_refusals_total (\d+)$/m.exec(res.body)
      assert.ok(m, 'the metric is exposed')
      return Number(m[1])
    }
    const before = await read()
    assert.equal(f.auditor.clock.observe(pack(Date.now() + HOUR)), false)
    assert.equal(await read(), before + 1)
  })
})
