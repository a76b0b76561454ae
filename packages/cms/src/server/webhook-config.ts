import { createPrivateKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
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
  /** `WEBHOOK_ED25519_KEY`: deliveries also carry a `v1a` (Ed25519) signature. */
  readonly ed25519Key?: KeyObject
}

/** The PEM (PKCS #8) Ed25519 private key in the file `path`. */
function ed25519Key(path: string | undefined): KeyObject | undefined {
  if (path === undefined || path === '') return undefined
  let key: KeyObject
  try {
    key = createPrivateKey(readFileSync(path, 'utf8'))
  } catch {
    throw new AuditedError('validation', 'WEBHOOK_ED25519_KEY must name a readable PEM private key file.', {
      details: { name: 'WEBHOOK_ED25519_KEY' },
    })
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AuditedError('validation', 'WEBHOOK_ED25519_KEY must be an Ed25519 key.', {
      details: { name: 'WEBHOOK_ED25519_KEY' },
    })
  }
  return key
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
    ...(env.WEBHOOK_ED25519_KEY ? { ed25519Key: ed25519Key(env.WEBHOOK_ED25519_KEY) as KeyObject } : {}),
  }
}
