/**
 * R7 (issue 7): a deadlock re-runs the transaction body, and with it the before hooks: the
 * write limiter must take a tenant's rate-limit tokens once per logical write, not once
 * per attempt.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type AuditContext, createAuditor, migrate } from '../packages/audited/src/index.js'
import { entries, tenants } from '../packages/cms/src/cms/entities.js'
import { type BucketStore, createLimiter } from '../packages/cms/src/cms/limits.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { gate } from './gate.js'
import { forEachDialect, newId, PERSONAL_DATA } from './setup.js'

/** Allows everything and counts what was taken. */
class CountingStore implements BucketStore {
  taken = 0
  async take() {
    this.taken += 1
    return { allowed: true, retryAfterMs: 0 }
  }
  async close() {}
}

forEachDialect('R7 rate-limit tokens on retry', (f) => {
  it('R7: a deadlock retry takes no second token for the writes already paid for', {
    skip:
      f.name === 'sqlite'
        ? 'SQLite runs one write transaction at a time, so a transaction is never re-run for a deadlock'
        : undefined,
  }, async () => {
    await migrate(f.db, CMS_MIGRATIONS)
    const tenantId = newId()
    const now = new Date()
    const system: AuditContext = { tenantId, actorId: 'system', actorType: 'system' }
    await f.auditor.create(
      tenants,
      {
        id: tenantId,
        name: `r7 ${tenantId}`,
        limits: { writesPerSecond: 1000, burst: 1000 },
        created_at: now,
        updated_at: now,
      },
      system,
    )
    const row = () => ({
      id: newId(),
      type: 'post',
      locale: 'en',
      status: 'draft' as const,
      data: {},
      created_at: now,
      updated_at: now,
    })
    const [a, b] = await f.auditor.createMany(entries, [row(), row()], system)
    const store = new CountingStore()
    const limiter = createLimiter(f.db, store)
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: { before: limiter.before },
    })
    const ctx: AuditContext = { tenantId, actorId: 'u1', actorType: 'user' }
    const both = gate()
    let arrived = 0
    let attempts = 0
    const cross = (first: string, second: string) =>
      auditor.transaction(ctx, async (tx) => {
        attempts += 1
        await tx.update(entries, first, { data: { by: first } })
        if (attempts <= 2) {
          arrived += 1
          if (arrived === 2) both.open()
          await both.wait
        }
        await tx.update(entries, second, { data: { by: first } })
      })
    const results = await Promise.allSettled([cross(a!.id, b!.id), cross(b!.id, a!.id)])
    assert.ok(attempts >= 3, 'the deadlock victim was re-run')
    const committed = results.filter((r) => r.status === 'fulfilled').length
    assert.ok(committed >= 1)
    // Two logical writes per transaction, each paid once whatever the number of attempts
    // (a victim that deadlocks again gives up having paid for the writes it reached).
    assert.ok(store.taken <= 4, `${store.taken} tokens taken for 4 writes`)
    if (committed === 2) assert.equal(store.taken, 4)
  })
})
