/**
 * Per-tenant write limits, enforced as a `before` hook inside every audited write: a
 * rejected write is `rate_limited` with a retry hint and leaves nothing behind. With Redis,
 * two server processes share one budget.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { createAuditor, isAuditedError, migrate } from '../packages/audited/src/index.js'
import { entries, tenants } from '../packages/cms/src/cms/entities.js'
import { createLimiter, MemoryBucketStore } from '../packages/cms/src/cms/limits.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { BOUNDED } from './child-support.js'
import { forEachDialect, newId, PERSONAL_DATA } from './setup.js'

const run = promisify(execFile)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const IN_CI = process.env.CI === 'true' || process.env.CI === '1'

forEachDialect('tenant write limits', (f) => {
  const tenantId = newId()
  const ctx = { tenantId, actorId: 'u1', actorType: 'user' as const }
  before(async () => {
    await migrate(f.db, CMS_MIGRATIONS)
    const now = new Date()
    await f.auditor.create(
      tenants,
      {
        id: tenantId,
        name: `limited ${tenantId}`,
        limits: { writesPerSecond: 0.01, burst: 3, maxEntries: 5 },
        created_at: now,
        updated_at: now,
      },
      { ...ctx, actorType: 'system', actorId: 'system' },
    )
  })

  const entry = () => {
    const now = new Date()
    return {
      id: newId(),
      type: 'post',
      locale: 'en',
      status: 'draft' as const,
      data: {},
      created_at: now,
      updated_at: now,
    }
  }

  it('writes beyond the burst are rate_limited with a retry hint and write nothing', async () => {
    const limiter = createLimiter(f.db, new MemoryBucketStore())
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: { before: limiter.before },
    })
    for (let i = 0; i < 3; i++) await auditor.create(entries, entry(), ctx)
    const rejected = entry()
    await assert.rejects(auditor.create(entries, rejected, ctx), (e: unknown) => {
      assert.ok(isAuditedError(e))
      assert.equal(e.code, 'rate_limited')
      assert.equal(e.details?.reason, 'write_rate')
      assert.equal(e.retryable, true)
      assert.equal(e.status, 429)
      assert.ok((e.retryAfterSeconds ?? 0) >= 1)
      return true
    })
    assert.equal((await auditor.events.history(entries, rejected.id, { tenantId })).events.length, 0)
    // the system actor (migrations, bootstrap) is never limited
    await auditor.create(entries, entry(), { ...ctx, actorType: 'system', actorId: 'system' })
  })

  it('the entry quota stops creates at maxEntries', async () => {
    const limiter = createLimiter(f.db, new MemoryBucketStore())
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      hooks: { before: limiter.before },
    })
    // 4 entries exist from the previous test; one more reaches the quota of 5. The system
    // actor is not limited but its entries count (R5: the counter is kept by this hook).
    const system = { ...ctx, actorType: 'system' as const, actorId: 'system' }
    const count = async () =>
      Number(
        (
          await f.db.kysely
            .selectFrom('entries')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('tenant_id', '=', tenantId)
            .executeTakeFirstOrThrow()
        ).n,
      )
    while ((await count()) < 5) await auditor.create(entries, entry(), system)
    await assert.rejects(auditor.create(entries, entry(), { ...ctx, actorId: 'u2' }), (e: unknown) => {
      // A quota does not free itself: retrying later does not help until entries go.
      return (
        isAuditedError(e) && e.code === 'rate_limited' && e.details?.reason === 'entry_quota' && !e.retryable
      )
    })
    assert.equal(await count(), 5)
  })
})

const redisSkip = await (async () => {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  try {
    await probe.connect()
    await probe.ping()
    return undefined
  } catch (e) {
    const reason = `Redis is not reachable at ${REDIS_URL} (${(e as Error).message}); the shared-budget test is SKIPPED`
    if (IN_CI) throw new Error(`CI=true and ${reason}`)
    process.stderr.write(`\n!!! ${reason}\n\n`)
    return reason
  } finally {
    probe.disconnect()
  }
})()

describe('Redis buckets', { skip: redisSkip }, () => {
  it('two processes share one budget', async () => {
    const key = `shared-${randomBytes(6).toString('hex')}`
    const script = fileURLToPath(new URL('./fixtures/take-tokens.ts', import.meta.url))
    // burst 10, almost no refill: together the two processes may take exactly 10 of 30 tries
    const child = () =>
      run(
        process.execPath,
        ['--conditions=audited-dev', '--import', 'tsx', script, REDIS_URL, key, '15', '0.001', '10'],
        BOUNDED,
      )
    const [a, b] = await Promise.all([child(), child()])
    const allowed = Number(a.stdout.trim()) + Number(b.stdout.trim())
    assert.equal(allowed, 10)
    assert.ok(Number(a.stdout.trim()) > 0 || Number(b.stdout.trim()) > 0)
  })
})
