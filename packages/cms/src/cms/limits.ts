import type { AuditedDatabase, BeforeChange } from 'audited'
import { AuditedError, decodeRow } from 'audited'
import type { Redis } from 'ioredis'
import { tenants } from './entities.js'
import { countEntryWrite } from './entry-counts.js'

/** A tenant's limits as stored in `tenants.limits`. */
export interface TenantLimits {
  readonly writesPerSecond?: number
  readonly burst?: number
  readonly maxEntries?: number
}

/** Where token buckets live: in this process, or in Redis so several processes share one budget. */
export interface BucketStore {
  /** Takes one token from `key`'s bucket; answers how long to wait when there is none. */
  take(key: string, ratePerSecond: number, burst: number): Promise<{ allowed: boolean; retryAfterMs: number }>
  close(): Promise<void>
}

/** Token buckets in a Map: one process. */
export class MemoryBucketStore implements BucketStore {
  readonly #buckets = new Map<string, { tokens: number; at: number }>()

  async take(key: string, rate: number, burst: number) {
    const now = Date.now()
    const b = this.#buckets.get(key) ?? { tokens: burst, at: now }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate)
    b.at = now
    this.#buckets.set(key, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      return { allowed: true, retryAfterMs: 0 }
    }
    return { allowed: false, retryAfterMs: Math.ceil(((1 - b.tokens) / rate) * 1000) }
  }

  async close(): Promise<void> {}
}

/** Refill and take in one atomic step on the Redis server (time from Redis itself, so
 * processes with different clocks agree). Returns {allowed 0|1, retry-after ms}. */
const TAKE_SCRIPT = `
local key, rate, burst = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) / 1000 * rate)
local allowed, wait = 0, 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
return {allowed, wait}
`

/** Token buckets in Redis: every server process sharing `REDIS_URL` shares each tenant's budget. */
export class RedisBucketStore implements BucketStore {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, prefix = 'audited:bucket:') {
    this.#redis = redis
    this.#prefix = prefix
  }

  async take(key: string, rate: number, burst: number) {
    try {
      const [allowed, wait] = (await this.#redis.eval(TAKE_SCRIPT, 1, this.#prefix + key, rate, burst)) as [
        number,
        number,
      ]
      return { allowed: allowed === 1, retryAfterMs: wait }
    } catch (cause) {
      throw new AuditedError('unavailable', 'The rate limiter cannot be reached.', {
        details: { reason: 'rate_limiter_unreachable' },
        cause,
        retryAfterSeconds: 1,
      })
    }
  }

  async close(): Promise<void> {
    await this.#redis.quit()
  }
}

/**
 * The per-tenant write limiter, as an auditor `before` hook: it runs inside every audited
 * write, so no route or code path can bypass it. Limits are read from `tenants.limits`
 * (cached for `cacheMs`); the `system` actor is not limited.
 *
 * It also keeps the entry counter of each tenant with a quota (src/cms/entry-counts.ts) in
 * every entry write's transaction, for every actor; `maxEntries` is checked against that
 * counter, under its row lock, so concurrent creates cannot pass the quota. Every auditor
 * that writes entries or tenants must carry this hook (`serve()` does).
 *
 * Rate-limit tokens are taken once per logical write: a deadlock re-runs a transaction and
 * its hooks, and the writes the first attempt already paid for are not charged again.
 */
export function createLimiter(db: AuditedDatabase, store: BucketStore, options: { cacheMs?: number } = {}) {
  const cacheMs = options.cacheMs ?? 2000
  const cache = new Map<string, { limits: TenantLimits; at: number }>()
  /** Per logical transaction, how many of its writes have taken their token. */
  const paid = new WeakMap<object, number>()

  // Reads run on the write's own transaction (change.read): through the pool they could
  // wait for a connection while this write holds one — with every connection held that way,
  // nothing moves until the acquire timeout.
  async function limitsOf(change: BeforeChange, tenantId: string): Promise<TenantLimits> {
    const hit = cache.get(tenantId)
    if (hit !== undefined && Date.now() - hit.at < cacheMs) return hit.limits
    const [row] = await change.read<Record<string, unknown>>(
      db.kysely.selectFrom('tenants').select('limits').where('id', '=', tenantId),
    )
    // decodeRow: the column's declared `json` kind, whatever the driver hands back.
    const limits = ((row === undefined ? null : decodeRow(tenants, row).limits) ?? {}) as TenantLimits
    cache.set(tenantId, { limits, at: Date.now() })
    return limits
  }

  /** Takes a token unless this logical write already took one on an earlier attempt. */
  async function takeToken(change: BeforeChange, tenantId: string, limits: TenantLimits) {
    const rate = limits.writesPerSecond
    if (rate === undefined) return
    if (change.writeIndex < (paid.get(change.transaction) ?? 0)) return
    const burst = limits.burst ?? Math.max(1, Math.ceil(rate))
    const r = await store.take(`writes:${tenantId}`, rate, burst)
    if (!r.allowed) {
      throw new AuditedError('rate_limited', 'This organisation is writing too fast.', {
        retryAfterSeconds: Math.max(1, Math.ceil(r.retryAfterMs / 1000)),
        details: { reason: 'write_rate', limit: 'writesPerSecond', retryAfterMs: r.retryAfterMs },
      })
    }
    paid.set(change.transaction, change.writeIndex + 1)
  }

  return {
    /** Forget cached limits (after a tenant's limits change). */
    invalidate(tenantId: string) {
      cache.delete(tenantId)
    },
    async before(change: BeforeChange): Promise<void> {
      const { ctx } = change
      const tenantId = ctx.actorType === 'system' ? null : ctx.tenantId
      const limits = tenantId === null ? undefined : await limitsOf(change, tenantId)
      if (tenantId !== null && limits !== undefined) await takeToken(change, tenantId, limits)
      // Last, for every actor: a counter updated now keeps its row lock until COMMIT.
      const quota = limits?.maxEntries
      const entryCount = await countEntryWrite(db, change, quota !== undefined)
      if (quota !== undefined && entryCount !== undefined && entryCount > quota) {
        // The count includes this transaction's own insert (the hook runs after the row is written).
        throw new AuditedError('rate_limited', 'This organisation has reached its entry quota.', {
          retryAfterSeconds: 3600,
          details: { reason: 'entry_quota', limit: 'maxEntries', maxEntries: quota },
        })
      }
    },
  }
}
