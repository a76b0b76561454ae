/**
 * Webhook signatures, Standard Webhooks 1.0: the signed content is `{id}.{timestamp}.{body}`;
 * `webhook-signature` is a space-separated list of `v1,<base64 HMAC-SHA256>` (one per secret,
 * so both keys verify while a secret is being rotated) and, when asymmetric keys are
 * configured, `v1a,<base64 Ed25519 signature>`. A receiver accepts the message when any one
 * entry verifies.
 */
import { createHmac, type KeyObject, randomBytes, sign } from 'node:crypto'
import { AuditedError } from 'audited'

const SECRET_PREFIX = 'whsec_'
const PUBLIC_KEY_PREFIX = 'whpk_'
/** Standard Webhooks: a secret is 24 to 64 random bytes; ours are 32. */
const MIN_SECRET_BYTES = 24
const MAX_SECRET_BYTES = 64

export interface SignatureInput {
  readonly id: string
  /** Unix seconds. */
  readonly timestamp: number
  readonly body: string
  /** `whsec_…` secrets; several while one is being rotated. */
  readonly secrets: readonly string[]
  readonly ed25519PrivateKeys?: readonly KeyObject[]
}

/** A type, not an interface, so it is assignable to `Record<string, string>` (sendWebhook's headers). */
export type WebhookHeaders = {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/** A new signing secret: `whsec_` and the base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64')
}

/** The `webhook-signature` header value. */
export function signatureHeader(input: SignatureInput): string {
  if (input.id === '' || /[\s.]/.test(input.id)) {
    throw new AuditedError('validation', 'A webhook message id must be non-empty, without dots or blanks.')
  }
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new AuditedError('validation', 'A webhook timestamp must be whole unix seconds.')
  }
  const keys = input.ed25519PrivateKeys ?? []
  if (input.secrets.length === 0 && keys.length === 0) {
    throw new AuditedError('validation', 'A webhook needs at least one signing secret or key.')
  }
  const content = Buffer.from(`${input.id}.${input.timestamp}.${input.body}`, 'utf8')
  const entries: string[] = []
  for (const secret of input.secrets) {
    entries.push(`v1,${createHmac('sha256', secretBytes(secret)).update(content).digest('base64')}`)
  }
  for (const key of keys) {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
      throw new AuditedError('validation', 'A webhook signing key must be an Ed25519 private key.')
    }
    entries.push(`v1a,${sign(null, content, key).toString('base64')}`)
  }
  return entries.join(' ')
}

/** The three Standard Webhooks headers for one message. */
export function webhookHeaders(
  id: string,
  timestamp: number,
  body: string,
  secrets: readonly string[],
  keys?: readonly KeyObject[],
): WebhookHeaders {
  const signature = signatureHeader(
    keys === undefined
      ? { id, timestamp, body, secrets }
      : { id, timestamp, body, secrets, ed25519PrivateKeys: keys },
  )
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature }
}

/** An Ed25519 public key as Standard Webhooks publishes it: `whpk_` and the base64 raw key. */
export function webhookPublicKey(key: KeyObject): string {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AuditedError('validation', 'A webhook public key must be an Ed25519 key.')
  }
  const jwk = key.export({ format: 'jwk' }) as { x?: string }
  return PUBLIC_KEY_PREFIX + Buffer.from(jwk.x ?? '', 'base64url').toString('base64')
}

function secretBytes(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : undefined
  const bytes =
    encoded !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(encoded)
      ? Buffer.from(encoded, 'base64')
      : undefined
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) {
    throw new AuditedError(
      'validation',
      `A webhook secret must be ${SECRET_PREFIX} and the base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes.`,
    )
  }
  return bytes
}
