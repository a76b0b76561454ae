import { AuditedError } from 'audited'
import { parseSchedule, STANDARD_SCHEDULE_MS } from '../webhooks/schedule.js'
import { type HostPolicy, parseAllowHosts } from '../webhooks/ssrf.js'

/** Webhook delivery settings (README "Configuration"). */
export interface WebhookSettings {
  readonly policy: HostPolicy
  readonly schedule: readonly number[]
  readonly concurrency: number
  readonly timeoutMs: number
  readonly disableAfterMs: number
}

function whole(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new AuditedError('validation', `${name} must be an integer from ${min} to ${max}.`, {
      details: { name },
    })
  }
  return n
}

/** `WEBHOOK_ALLOW_HOSTS`, `WEBHOOK_RETRY_SCHEDULE`, `WEBHOOK_CONCURRENCY`, `WEBHOOK_TIMEOUT_MS`,
 * `WEBHOOK_DISABLE_AFTER_MS`. */
export function webhookSettings(env: NodeJS.ProcessEnv): WebhookSettings {
  return {
    policy: parseAllowHosts(env.WEBHOOK_ALLOW_HOSTS),
    schedule: env.WEBHOOK_RETRY_SCHEDULE ? parseSchedule(env.WEBHOOK_RETRY_SCHEDULE) : STANDARD_SCHEDULE_MS,
    concurrency: whole(env, 'WEBHOOK_CONCURRENCY', 64, 1, 1024),
    timeoutMs: whole(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 100, 120_000),
    disableAfterMs: whole(env, 'WEBHOOK_DISABLE_AFTER_MS', 5 * 86_400_000, 1000, 365 * 86_400_000),
  }
}
