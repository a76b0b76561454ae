/**
 * AES-256-GCM for personal values in events and for wrapping subject keys. A personal value
 * is stored as `enc:v1:<key id>:<base64(iv ‖ ciphertext ‖ tag)>`, the column name as
 * additional data (a ciphertext moved to another column fails to open).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { randomPool } from '../core/random-pool.js'

const PREFIX = 'enc:v1:'
const ENVELOPE = /^enc:v1:([0-9A-HJKMNP-TV-Z]{26}):([A-Za-z0-9+/]+={0,2})$/

/** What an erased personal value reads as. */
export const ERASED = '[erased]'

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: string): Uint8Array {
  const iv = randomPool.bytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()])
}

/** Opens a sealed blob; undefined when it does not open (wrong key, altered, moved). */
export function open(key: Uint8Array, blob: Uint8Array, aad: string): Uint8Array | undefined {
  if (blob.length < 12 + 16) return undefined
  try {
    const b = Buffer.from(blob)
    const decipher = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12))
    decipher.setAAD(Buffer.from(aad, 'utf8'))
    decipher.setAuthTag(b.subarray(b.length - 16))
    return Buffer.concat([decipher.update(b.subarray(12, b.length - 16)), decipher.final()])
  } catch {
    return undefined
  }
}

/** A personal value, encrypted for storage in an event. */
export function encryptValue(keyId: string, key: Uint8Array, column: string, value: unknown): string {
  return encryptJson(keyId, key, column, JSON.stringify(value))
}

/** A personal value given as its JSON text, encrypted for storage in an event. */
export function encryptJson(keyId: string, key: Uint8Array, column: string, json: string): string {
  return `${PREFIX}${keyId}:${Buffer.from(seal(key, Buffer.from(json, 'utf8'), column)).toString('base64')}`
}

/** The key id of an encrypted value (undefined: not one). */
export function envelopeKeyId(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.startsWith(PREFIX)) return undefined
  return ENVELOPE.exec(value)?.[1]
}

/** The value back, or `"[erased]"` when its key is gone (or it does not open). */
export function decryptValue(value: string, key: Uint8Array | undefined, column: string): unknown {
  const m = ENVELOPE.exec(value)
  if (m === null || key === undefined) return ERASED
  const plain = open(key, Buffer.from(m[2]!, 'base64'), column)
  return plain === undefined ? ERASED : JSON.parse(Buffer.from(plain).toString('utf8'))
}
