import { Redis } from 'ioredis'
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible'
import { AuditedError } from '../core/errors.js'

export interface LoginLimitOptions {
  /** Failed logins per client IP per window (default 50). */
  readonly perIp?: number
  /** Failed logins per account (e-mail, known or not) per window, from any IP (default 10). */
  readonly perAccount?: number
  /** The window, in seconds (default 900). */
  readonly windowSeconds?: number
  /** Key prefix in the shared store (default `audited:login`). */
  readonly keyPrefix?: string
}

export const LOGIN_LIMIT_DEFAULTS = { perIp: 50, perAccount: 10, windowSeconds: 900 } as const

/**
 * Limits login attempts per IP and per account, in memory or shared through Redis
 * (rate-limiter-flexible). Every attempt takes a point from both counts before the password
 * is checked (atomic, so concurrent guesses cannot slip past); a success gives the IP its
 * point back and clears the account's count. Over either limit: `rate_limited` (429,
 * reason `login_attempts`) with the seconds until the window ends as `Retry-After`.
 */
export class LoginLimiter {
  private constructor(
    private readonly byIp: RateLimiterAbstract,
    private readonly byAccount: RateLimiterAbstract,
    private readonly redis: Redis | undefined,
  ) {}

  static memory(options: LoginLimitOptions = {}): LoginLimiter {
    const o = settings(options)
    return new LoginLimiter(
      new RateLimiterMemory({ keyPrefix: `${o.keyPrefix}:ip`, points: o.perIp, duration: o.windowSeconds }),
      new RateLimiterMemory({
        keyPrefix: `${o.keyPrefix}:account`,
        points: o.perAccount,
        duration: o.windowSeconds,
      }),
      undefined,
    )
  }

  /** Shared by every process on `url`; while Redis is unreachable each process counts alone. */
  static redis(url: string, options: LoginLimitOptions = {}): LoginLimiter {
    const o = settings(options)
    const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    redis.on('error', () => {
      // reported by the failing calls; the in-memory insurance limiter takes over meanwhile
    })
    const limiter = (name: string, points: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${o.keyPrefix}:${name}`,
        points,
        duration: o.windowSeconds,
        insuranceLimiter: new RateLimiterMemory({
          keyPrefix: `${o.keyPrefix}:${name}`,
          points,
          duration: o.windowSeconds,
        }),
      })
    return new LoginLimiter(limiter('ip', o.perIp), limiter('account', o.perAccount), redis)
  }

  /** Takes one attempt from the IP's and the account's counts; throws `rate_limited` when over. */
  async admit(ip: string, account: string): Promise<void> {
    let waitMs = 0
    for (const [limiter, key] of [
      [this.byIp, ip],
      [this.byAccount, account],
    ] as const) {
      try {
        await limiter.consume(key)
      } catch (e) {
        if (!(e instanceof RateLimiterRes)) throw e
        waitMs = Math.max(waitMs, e.msBeforeNext)
      }
    }
    if (waitMs > 0) {
      throw new AuditedError('rate_limited', 'Too many login attempts; try again later.', {
        details: { reason: 'login_attempts' },
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      })
    }
  }

  /** A correct password: the IP's attempt is given back and the account's count cleared. */
  async succeeded(ip: string, account: string): Promise<void> {
    await Promise.all([this.byIp.reward(ip, 1), this.byAccount.delete(account)])
  }

  async close(): Promise<void> {
    if (this.redis !== undefined) await this.redis.quit().catch(() => this.redis?.disconnect())
  }
}

function settings(options: LoginLimitOptions): Required<LoginLimitOptions> {
  const o = { ...LOGIN_LIMIT_DEFAULTS, keyPrefix: 'audited:login', ...options }
  for (const name of ['perIp', 'perAccount', 'windowSeconds'] as const) {
    if (!Number.isSafeInteger(o[name]) || o[name] < 1) {
      throw new AuditedError('validation', `${name} must be a positive integer.`)
    }
  }
  return o
}
