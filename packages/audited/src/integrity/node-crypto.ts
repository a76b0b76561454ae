/**
 * Node.js implementations for the server side: a faster Merkle hasher (node:crypto) for the
 * sealer and the verifier, and checkpoint signing keys in the Go `sumdb/note` text form
 * (`PRIVATE+KEY+<name>+<id>+<base64(0x01 ‖ seed)>`), so keys move between tools.
 */

// A namespace import: a named import of `hash` would fail to link on Node before 20.12.
import * as nodeCrypto from 'node:crypto'
import {
  type BinaryLike,
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from 'node:crypto'
import type { MerkleHasher } from './merkle.js'
import { fromBase64, keyId, type SignatureCheck, toBase64, verifierKey } from './note.js'

const ONE = Buffer.from([1])
const ZERO = Buffer.from([0])

/** One-shot SHA-256 where Node has it (20.12+), about half the cost of a Hash object. */
const oneShot: ((algorithm: string, data: BinaryLike, encoding: 'buffer') => Buffer) | undefined =
  typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : undefined
/** 0x01 ‖ left ‖ right of one interior node (hashes are 32 bytes; anything else goes the long way). */
const pair = Buffer.alloc(65, 1)

export const nodeHasher: MerkleHasher = {
  leaf: (bytes) => createHash('sha256').update(ZERO).update(bytes).digest(),
  node: (left, right) => {
    if (oneShot === undefined || left.length !== 32 || right.length !== 32)
      return createHash('sha256').update(ONE).update(left).update(right).digest()
    pair.set(left, 1)
    pair.set(right, 33)
    return oneShot('sha256', pair, 'buffer')
  },
}

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')
const publicKeys = new Map<string, KeyObject>()

/**
 * Ed25519 verification by node:crypto (OpenSSL), about 20× faster than the portable check:
 * the verifier checks a checkpoint every 1,000 events. Both accept every signature made with
 * the key and reject any other; OpenSSL is strict RFC 8032 where @noble/curves follows
 * ZIP 215 (they could differ only on a non-canonical encoding made by the key's holder).
 */
export const nodeSignatureCheck: SignatureCheck = (signature, message, publicKey) => {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  const id = Buffer.from(publicKey).toString('hex')
  let key = publicKeys.get(id)
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' })
    if (publicKeys.size >= 64) publicKeys.clear()
    publicKeys.set(id, key)
  }
  return verify(null, message, key, signature)
}

/** A checkpoint signer: its key name, public key and verifier key text, and `sign`. */
export interface NoteSigner {
  readonly name: string
  readonly publicKey: Uint8Array
  /** `<name>+<hex id>+<base64 key>`: what verifiers are given. */
  readonly verifierKey: string
  sign(message: Uint8Array): Uint8Array
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** A signer from a private key text (`PRIVATE+KEY+…`). Throws on a malformed key. */
export function signerFromKey(text: string): NoteSigner {
  // The key material is base64, which may itself hold `+`.
  const m = /^PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text.trim())
  if (m === null) throw new Error('a signing key is PRIVATE+KEY+<name>+<id>+<key>')
  const [, name, idHex, b64] = m as unknown as [string, string, string, string]
  let material: Uint8Array
  try {
    material = fromBase64(b64)
  } catch {
    throw new Error('the signing key material is not base64')
  }
  if (material.length !== 33 || material[0] !== 1) throw new Error('not an Ed25519 signing key')
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, material.slice(1)]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32))
  if (hex(keyId(name, publicKey)) !== idHex) throw new Error('the signing key id does not match its key')
  return {
    name,
    publicKey,
    verifierKey: verifierKey(name, publicKey),
    sign: (message) => new Uint8Array(sign(null, message, key)),
  }
}

/** A new signing key text for `name`. */
export function generateSigningKey(name: string): string {
  const seed = randomBytes(32)
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32))
  verifierKey(name, publicKey) // checks the name
  return `PRIVATE+KEY+${name}+${hex(keyId(name, publicKey))}+${toBase64(Buffer.concat([ONE, seed]))}`
}
