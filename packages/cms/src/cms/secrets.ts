import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>

/** `scrypt$<salt b64>$<hash b64>`: Node's built-in scrypt, 16-byte salt, 32-byte key. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, 32)
  return `scrypt$${salt.toString('base64')}$${key.toString('base64')}`
}

/** Constant-time check of a password against `hashPassword`'s output. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false
  const expected = Buffer.from(hash, 'base64')
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length)
  return key.length === expected.length && timingSafeEqual(key, expected)
}

let dummy: Promise<string> | undefined

/**
 * A hash of a random password nobody knows, made like every stored one: checking a password
 * against it costs what checking a real account does, so a login for an e-mail that does
 * not exist takes as long as one with a wrong password.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(18).toString('base64url'))
  return dummy
}

/** A new bearer token (shown once) and the hash that is stored. */
export function newToken(): { token: string; hash: string } {
  const token = `aud_${randomBytes(32).toString('base64url')}`
  return { token, hash: hashToken(token) }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/**
 * What a session remembers of the password it was issued for: a digest of the stored hash
 * (which changes, with its salt, on every password change). Not a secret in itself.
 */
export function credentialsFingerprint(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('hex')
}

/** A password for the first admin when none is configured. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url')
}

/**
 * A new tenant API token: the row to store (hash only) and the bearer string, which exists
 * only in the answer to whoever created it. API tokens belong to the tenant, not a user.
 */
export function newApiToken(
  id: string,
  role: 'admin' | 'editor' | 'viewer' | 'auditor',
  name: string,
): {
  token: string
  row: {
    id: string
    user_id: null
    name: string
    role: 'admin' | 'editor' | 'viewer' | 'auditor'
    kind: 'api'
    platform_admin: false
    token_hash: string
    expires_at: null
    created_at: Date
    updated_at: Date
  }
} {
  const { token, hash } = newToken()
  const now = new Date()
  return {
    token,
    row: {
      id,
      user_id: null,
      name,
      role,
      kind: 'api',
      platform_admin: false,
      token_hash: hash,
      expires_at: null,
      created_at: now,
      updated_at: now,
    },
  }
}
