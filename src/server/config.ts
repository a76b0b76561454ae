import { AuditedError } from '../core/errors.js'

/** Server settings, from the environment (see README "Configuration"). */
export interface ServerConfig {
  readonly host: string
  readonly port: number
  readonly databaseUrl: string
  readonly nodeId: string | undefined
  readonly logLevel: string
  readonly trustProxy: boolean | string
  readonly poolMax: number
  readonly acquireTimeoutMs: number
  readonly redisUrl: string | undefined
  /** How long cursor reads hold back other processes' fresh events (ms); undefined = the
   * command's default (serve: 0 alone, 6000 with REDIS_URL; the CLI: 6000). */
  readonly settleMs: number | undefined
  readonly adminEmail: string | undefined
  readonly adminPassword: string | undefined
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

/** Reads and checks the configuration; a bad value is a `validation` error naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const logLevel = env.LOG_LEVEL ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new AuditedError('validation', `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}.`)
  }
  const trust = env.TRUST_PROXY
  return {
    host: env.HOST ?? '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    databaseUrl: env.DATABASE_URL ?? 'sqlite:./data/audited.db',
    nodeId: env.NODE_ID || undefined,
    logLevel,
    trustProxy:
      trust === undefined || trust === '' || trust === 'false' ? false : trust === 'true' ? true : trust,
    poolMax: integer(env, 'DB_POOL_MAX', 10, 1, 1000),
    acquireTimeoutMs: integer(env, 'DB_ACQUIRE_TIMEOUT_MS', 2000, 10, 60_000),
    redisUrl: env.REDIS_URL || undefined,
    settleMs:
      env.SETTLE_MS === undefined || env.SETTLE_MS === ''
        ? undefined
        : integer(env, 'SETTLE_MS', 0, 0, 600_000),
    adminEmail: env.ADMIN_EMAIL || undefined,
    adminPassword: env.ADMIN_PASSWORD || undefined,
  }
}
