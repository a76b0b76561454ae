import { isIP } from 'node:net'
import { AuditedError } from 'audited'
import type { Redis } from 'ioredis'
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible'
import { newRedis } from './redis-client.js'

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
 * (rate-limiter-flexible). Failures are counted; once either count reaches its limit, every
 * attempt (even with the right password) is `rate_limited` (429, reason `login_attempts`)
 * until the window ends, its seconds as `Retry-After`. Attempts checked concurrently may
 * overshoot a limit by at most the derivation gate's size. A success clears the account's
 * count, not the IP's.
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
    // Commands sent while connecting wait for the connection; during an outage each fails
    // after one reconnect attempt and the in-memory insurance limiter answers instead.
    const redis = newRedis(url, { maxRetriesPerRequest: 1 })
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

  /** Before the password is checked: `rate_limited` while the IP or the account is over its limit. */
  async admit(ip: string, account: string): Promise<void> {
    const [byIp, byAccount] = await Promise.all([this.byIp.get(ipKey(ip)), this.byAccount.get(account)])
    let waitMs = 0
    if (byIp !== null && byIp.consumedPoints >= this.byIp.points) waitMs = byIp.msBeforeNext
    if (byAccount !== null && byAccount.consumedPoints >= this.byAccount.points) {
      waitMs = Math.max(waitMs, byAccount.msBeforeNext)
    }
    if (waitMs > 0) {
      throw new AuditedError('rate_limited', 'Too many failed logins; try again later.', {
        details: { reason: 'login_attempts' },
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      })
    }
  }

  /** A wrong password (or unknown e-mail): one more failure for the IP and the account. */
  async failed(ip: string, account: string): Promise<void> {
    await Promise.all([
      ignoreOverLimit(this.byIp.consume(ipKey(ip))),
      ignoreOverLimit(this.byAccount.consume(account)),
    ])
  }

  /** A correct password clears the account's failures (the IP's stay: one good account
   * must not launder guesses at others). */
  async succeeded(account: string): Promise<void> {
    await this.byAccount.delete(account)
  }

  async close(): Promise<void> {
    this.redis?.disconnect()
  }
}

/**
 * The client an IP limit counts: an IPv4 address (IPv4-mapped IPv6 included), or an IPv6
 * address's /64 network — one host is routinely given a whole /64, so counting single
 * IPv6 addresses would give it 2^64 budgets.
 */
export function ipKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped !== null) return mapped[1]!
  if (isIP(ip) !== 6) return ip
  const [head = '', tail] = ip.split('%', 1)[0]!.split('::')
  const groups = (part: string) => (part === '' ? [] : part.split(':'))
  const h = groups(head)
  // Only the first four groups matter; an embedded IPv4 tail counts as two groups.
  const t = tail === undefined ? [] : groups(tail).flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]))
  const all = tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
  return `${all
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`
}

/** Over the limit is what `admit` reports next time; here it is not an error. */
async function ignoreOverLimit(consumed: Promise<RateLimiterRes>): Promise<void> {
  try {
    await consumed
  } catch (e) {
    if (!(e instanceof RateLimiterRes)) throw e
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
