/**
 * R5 (issue 7): the entry quota is checked against a per-tenant counter kept in the same
 * transaction as every entry create, delete and restore — O(1) per write, and exact under
 * concurrency (the counter row is updated under its row lock) — initialised by the
 * migration from the rows already there.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { type AuditContext, createAuditor, isAuditedError, migrate } from '../packages/audited/src/index.js'
import { entries, tenants } from '../packages/cms/src/cms/entities.js'
import { createLimiter, MemoryBucketStore } from '../packages/cms/src/cms/limits.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { forEachDialect, newId, PERSONAL_DATA } from './setup.js'

const system = (tenantId: string): AuditContext => ({ tenantId, actorId: 'system', actorType: 'system' })

const entry = (type = 'post') => {
  const now = new Date()
  return {
    id: newId(),
    type,
    locale: 'en',
    status: 'draft' as const,
    data: {},
    created_at: now,
    updated_at: now,
  }
}

const quotaRefusal = (e: unknown) =>
  isAuditedError(e) && e.code === 'rate_limited' && e.details?.limit === 'maxEntries'

forEachDialect('R5 entry quota', (f) => {
  /** A tenant as the CMS makes one: through an auditor carrying the limiter, which gives
   * it a counter (before migration 1003, through a plain one). */
  const newTenant = async (limits: object | null, hooked = true) => {
    const id = newId()
    const now = new Date()
    const limiter = createLimiter(f.db, new MemoryBucketStore())
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: hooked ? { before: limiter.before } : {},
    })
    await auditor.create(
      tenants,
      { id, name: `quota ${id}`, limits, created_at: now, updated_at: now } as never,
      system(id),
    )
    return id
  }
  const count = async (tenantId: string) =>
    Number(
      (
        await f.db.kysely
          .selectFrom('entries')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    )

  before(async () => {
    // Entries written before the counter existed (migrations up to 1002) must be counted
    // by the step that introduces it.
    await migrate(
      f.db,
      CMS_MIGRATIONS.filter((m) => m.id < 1003),
    )
  })

  it('R5: the migration initialises the counter from the entries already stored', async () => {
    const tenantId = await newTenant({ maxEntries: 3 }, false)
    const plain = createAuditor({ personalData: PERSONAL_DATA, db: f.db })
    for (let i = 0; i < 3; i++) await plain.create(entries, entry(), system(tenantId))
    await migrate(f.db, CMS_MIGRATIONS)
    const limiter = createLimiter(f.db, new MemoryBucketStore())
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: { before: limiter.before },
    })
    const ctx: AuditContext = { tenantId, actorId: 'u1', actorType: 'user' }
    await assert.rejects(auditor.create(entries, entry(), ctx), quotaRefusal)
    assert.equal(await count(tenantId), 3)
  })

  it('R5: concurrent creates stop exactly at maxEntries', async () => {
    await migrate(f.db, CMS_MIGRATIONS)
    const tenantId = await newTenant({ maxEntries: 5 })
    const limiter = createLimiter(f.db, new MemoryBucketStore())
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: { before: limiter.before },
    })
    const ctx: AuditContext = { tenantId, actorId: 'u1', actorType: 'user' }
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => auditor.create(entries, entry(), ctx)),
    )
    const refused = results.filter((r) => r.status === 'rejected')
    for (const r of refused)
      assert.ok(
        quotaRefusal((r as PromiseRejectedResult).reason),
        String((r as PromiseRejectedResult).reason),
      )
    assert.equal(results.length - refused.length, 5)
    assert.equal(await count(tenantId), 5)
  })

  it('R5: deletes free quota, restoring a deleted entry takes it again', async () => {
    await migrate(f.db, CMS_MIGRATIONS)
    const tenantId = await newTenant({ maxEntries: 2 })
    const limiter = createLimiter(f.db, new MemoryBucketStore())
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: { before: limiter.before },
    })
    const ctx: AuditContext = { tenantId, actorId: 'u1', actorType: 'user' }
    const a = await auditor.create(entries, entry(), ctx)
    await auditor.create(entries, entry(), ctx)
    await assert.rejects(auditor.create(entries, entry(), ctx), quotaRefusal)
    await auditor.delete(entries, a.id, ctx)
    const c = await auditor.create(entries, entry(), ctx)
    // a's creation event: restoring it re-creates the row, which needs quota again
    const [created] = (await auditor.events.history(entries, a.id, { tenantId })).events
    await assert.rejects(auditor.restore(entries, a.id, created!.eventId, ctx), quotaRefusal)
    await auditor.delete(entries, c.id, ctx)
    await auditor.restore(entries, a.id, created!.eventId, ctx)
    await assert.rejects(auditor.create(entries, entry(), ctx), quotaRefusal)
    assert.equal(await count(tenantId), 2)
    // entries of the system actor are counted too (the quota itself never stops it)
    await auditor.create(entries, entry(), system(tenantId))
    await auditor.delete(entries, a.id, ctx)
    await assert.rejects(auditor.create(entries, entry(), ctx), quotaRefusal)
  })

  it('R5: a quota set later counts the entries then, and holds; removing it stops the counting', async () => {
    await migrate(f.db, CMS_MIGRATIONS)
    const tenantId = await newTenant(null)
    const limiter = createLimiter(f.db, new MemoryBucketStore(), { cacheMs: 0 })
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: { before: limiter.before },
    })
    const ctx: AuditContext = { tenantId, actorId: 'u1', actorType: 'user' }
    const counter = async () => {
      const row = await f.db.kysely
        .selectFrom('tenant_entry_counts')
        .select('entry_count')
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst()
      return row === undefined ? undefined : Number(row.entry_count)
    }
    const made = await Promise.all(Array.from({ length: 12 }, () => auditor.create(entries, entry(), ctx)))
    await auditor.delete(entries, made[0]!.id, ctx)
    assert.equal(await counter(), undefined, 'no counter while the tenant has no quota')
    const current = await auditor.update(tenants, tenantId, { limits: { maxEntries: 11 } }, system(tenantId))
    assert.deepEqual(current.limits, { maxEntries: 11 })
    assert.equal(await counter(), 11)
    await assert.rejects(auditor.create(entries, entry(), ctx), quotaRefusal)
    await auditor.delete(entries, made[1]!.id, ctx)
    await auditor.create(entries, entry(), ctx)
    assert.equal(await count(tenantId), 11)
    assert.equal(await counter(), 11)
    await auditor.update(tenants, tenantId, { limits: { writesPerSecond: 1000 } }, system(tenantId))
    assert.equal(await counter(), undefined)
    await auditor.create(entries, entry(), ctx)
    assert.equal(await count(tenantId), 12)
  })
})
