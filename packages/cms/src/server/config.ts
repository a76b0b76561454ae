import { isIP } from 'node:net'
import { AuditedError } from 'audited'
import { isStreamName, isSubjectPrefix } from '../delivery/nats-subjects.js'
import { type CheckpointSettings, checkpointSettings } from './checkpoint-key.js'
import { LOGIN_LIMIT_DEFAULTS } from './login-limiter.js'
import { type PersonalDataSettings, personalDataSettings } from './personal-data-key.js'
import { type RetentionSettings, retentionSettings } from './retention-settings.js'
import { type WebhookSettings, webhookSettings } from './webhook-config.js'

/** Server settings, from the environment (see README "Configuration"). */
export interface ServerConfig {
  readonly host: string
  readonly port: number
  readonly databaseUrl: string
  readonly nodeId: string | undefined
  readonly logLevel: string
  /** `json` or `pretty`; absent: pretty on a terminal, JSON otherwise (LOG_FORMAT). */
  readonly logFormat?: 'json' | 'pretty' | undefined
  /** Whether to believe `X-Forwarded-For`: all proxies, the nearest `n` hops, or only
   * proxies at these addresses / CIDR ranges. */
  readonly trustProxy: TrustProxy
  readonly poolMax: number
  readonly acquireTimeoutMs: number
  readonly redisUrl: string | undefined
  /** `AUDIT_DURABILITY`: `full` (default) or `relaxed` (see the library's `durability`). */
  readonly durability?: 'full' | 'relaxed'
  readonly adminEmail: string | undefined
  readonly adminPassword: string | undefined
  /** How often the server deletes expired login sessions (ms); 0 = never; absent = the
   * default (`SESSION_PURGE_INTERVAL_MS_DEFAULT`). */
  readonly sessionPurgeIntervalMs?: number
  /** Failed-login limits (absent: `LOGIN_LIMIT_DEFAULTS`), shared through REDIS_URL when set. */
  readonly loginLimits?: { perIp: number; perAccount: number; windowSeconds: number }
  /** Connection timeouts and the shutdown deadline (absent: `HTTP_TIMEOUTS_DEFAULT`). */
  readonly http?: HttpTimeouts
  /** Webhook delivery (absent: the defaults of `webhookSettings`). */
  readonly webhooks?: WebhookSettings
  /** RETENTION_INTERVAL_MS (0, the default: off) and ARCHIVE_DIR (absent: `retentionSettings({})`). */
  readonly retention?: RetentionSettings
  /** The live event stream's heartbeat interval (ms, SSE_HEARTBEAT_MS; absent: 15 000). */
  readonly live?: { readonly heartbeatMs: number }
  /** Publishing every change event to NATS JetStream (NATS_URL); absent: off. */
  readonly nats?: NatsConfig | undefined
  /** The checkpoint signing key and the witness file (absent: `checkpointSettings({})`). */
  readonly checkpoints?: CheckpointSettings
  /** PERSONAL_DATA_KEY / DATA_DIR: the personal-data master key (absent: `personalDataSettings({})`). */
  readonly personalData?: PersonalDataSettings
}

/** NATS_URL, NATS_SUBJECT_PREFIX (default `audited`), NATS_STREAM (default `AUDITED`). */
export interface NatsConfig {
  readonly url: string
  readonly subjectPrefix: string
  readonly stream: string
}

/** Every phase of a connection is bounded (ms). */
export interface HttpTimeouts {
  /** Receiving a whole request, body included (a slow-body client gets 408). */
  readonly requestTimeoutMs: number
  /** Receiving a request's headers. */
  readonly headersTimeoutMs: number
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number
  /** After SIGTERM, connections still open this long are destroyed. */
  readonly shutdownTimeoutMs: number
}

export const HTTP_TIMEOUTS_DEFAULT: HttpTimeouts = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  shutdownTimeoutMs: 10_000,
}

export type TrustProxy = boolean | number | readonly string[]

/** An IPv4/IPv6 address, optionally with a prefix length (`10.0.0.0/8`, `fd00::/8`). */
function isAddressOrRange(value: string): boolean {
  const [address = '', prefix, extra] = value.split('/')
  const family = isIP(address)
  if (family === 0 || extra !== undefined) return false
  if (prefix === undefined) return true
  const bits = Number(prefix)
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128)
}

/** `TRUST_PROXY`: true/false, a hop count (integer ≥ 1), or a comma-separated list of
 * IPs/CIDRs. A bare number is a hop count, never an address. */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const value = raw?.trim() ?? ''
  if (value === '' || value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    if (hops >= 1 && hops <= 100) return hops
  } else {
    const list = value.split(',').map((part) => part.trim())
    if (list.every(isAddressOrRange)) return list
  }
  throw new AuditedError(
    'validation',
    'TRUST_PROXY must be true, false, a hop count from 1 to 100, or a comma-separated list of IP addresses or CIDR ranges.',
    { details: { name: 'TRUST_PROXY' } },
  )
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AuditedError('validation', `${name} must be an integer from ${min} to ${max}.`, {
      details: { name },
    })
  }
  return n
}

export const SESSION_PURGE_INTERVAL_MS_DEFAULT = 600_000

/** setTimeout's longest delay (a larger one fires at once). */
const MAX_TIMER_MS = 2_147_483_647

/** 0 (off) or an interval of at least a second: a shorter one would only load the database. */
function interval(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || (n !== 0 && (n < 1000 || n > MAX_TIMER_MS))) {
    throw new AuditedError(
      'validation',
      `${name} must be 0 (off) or an integer from 1000 to ${MAX_TIMER_MS} (milliseconds).`,
      { details: { name } },
    )
  }
  return n
}

function httpTimeouts(env: NodeJS.ProcessEnv): HttpTimeouts {
  const d = HTTP_TIMEOUTS_DEFAULT
  const requestTimeoutMs = integer(env, 'REQUEST_TIMEOUT_MS', d.requestTimeoutMs, 100, 3_600_000)
  return {
    requestTimeoutMs,
    // Node requires the headers' bound to be within the request's.
    headersTimeoutMs: Math.min(requestTimeoutMs, d.headersTimeoutMs),
    keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs, 100, 600_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', d.shutdownTimeoutMs, 0, 600_000),
  }
}

function durability(raw: string | undefined): 'full' | 'relaxed' {
  const value = raw?.trim() ?? ''
  if (value === '' || value === 'full') return 'full'
  if (value === 'relaxed') return 'relaxed'
  throw new AuditedError('validation', 'AUDIT_DURABILITY must be full or relaxed.', {
    details: { name: 'AUDIT_DURABILITY' },
  })
}

function natsConfig(env: NodeJS.ProcessEnv): NatsConfig | undefined {
  const url = env.NATS_URL?.trim()
  if (!url) return undefined
  const subjectPrefix = env.NATS_SUBJECT_PREFIX || 'audited'
  if (!isSubjectPrefix(subjectPrefix)) {
    throw new AuditedError(
      'validation',
      'NATS_SUBJECT_PREFIX must be tokens of letters, digits, - and _ separated by dots (e.g. audited or acme.audit).',
      { details: { name: 'NATS_SUBJECT_PREFIX' } },
    )
  }
  const stream = env.NATS_STREAM || 'AUDITED'
  if (!isStreamName(stream)) {
    throw new AuditedError('validation', 'NATS_STREAM must be 1 to 200 letters, digits, - and _.', {
      details: { name: 'NATS_STREAM' },
    })
  }
  return { url, subjectPrefix, stream }
}

/** Reads and checks the configuration; a bad value is a `validation` error naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const logLevel = env.LOG_LEVEL ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new AuditedError('validation', `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}.`)
  }
  const logFormat = env.LOG_FORMAT || undefined
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new AuditedError('validation', 'LOG_FORMAT must be json or pretty (unset: pretty on a terminal).')
  }
  return {
    logFormat,
    host: env.HOST ?? '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    databaseUrl: env.DATABASE_URL ?? 'sqlite:./data/audited.db',
    nodeId: env.NODE_ID || undefined,
    logLevel,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    poolMax: integer(env, 'DB_POOL_MAX', 10, 1, 1000),
    acquireTimeoutMs: integer(env, 'DB_ACQUIRE_TIMEOUT_MS', 2000, 10, 60_000),
    redisUrl: env.REDIS_URL || undefined,
    durability: durability(env.AUDIT_DURABILITY),
    adminEmail: env.ADMIN_EMAIL || undefined,
    adminPassword: env.ADMIN_PASSWORD || undefined,
    sessionPurgeIntervalMs: interval(env, 'SESSION_PURGE_INTERVAL_MS', SESSION_PURGE_INTERVAL_MS_DEFAULT),
    loginLimits: {
      perIp: integer(env, 'LOGIN_MAX_FAILURES_PER_IP', LOGIN_LIMIT_DEFAULTS.perIp, 1, 1_000_000),
      perAccount: integer(
        env,
        'LOGIN_MAX_FAILURES_PER_ACCOUNT',
        LOGIN_LIMIT_DEFAULTS.perAccount,
        1,
        1_000_000,
      ),
      windowSeconds: integer(env, 'LOGIN_WINDOW_SECONDS', LOGIN_LIMIT_DEFAULTS.windowSeconds, 1, 86_400),
    },
    http: httpTimeouts(env),
    webhooks: webhookSettings(env),
    retention: retentionSettings(env),
    live: { heartbeatMs: integer(env, 'SSE_HEARTBEAT_MS', 15_000, 10, 3_600_000) },
    nats: natsConfig(env),
    checkpoints: checkpointSettings(env),
    personalData: personalDataSettings(env),
  }
}
