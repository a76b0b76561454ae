/**
 * The Node.js fast path of the sealer and the verifier: a leaf hash straight from the
 * event's canonical text, and hex through `Buffer`. Byte for byte what the portable
 * functions (leaf.ts, merkle.ts) give.
 */
import * as crypto from 'node:crypto'
import type { ChangeEvent } from '../audit/change-event.js'
import { eventLeafText } from './leaf.js'

/** One-shot SHA-256 (`crypto.hash`, Node 20.12+: half the cost of a Hash object for a
 * short input), or a Hash object on older versions. */
const oneShot: ((algorithm: string, data: crypto.BinaryLike, encoding: 'hex') => string) | undefined =
  typeof crypto.hash === 'function' ? crypto.hash : undefined

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256TextHex(text: string): string {
  return oneShot !== undefined
    ? oneShot('sha256', text, 'hex')
    : crypto.createHash('sha256').update(text, 'utf8').digest('hex')
}

/** `eventLeafHash(e)`: SHA-256(0x00 ‖ UTF-8 canonical JSON of the event). */
export function nodeLeafHash(e: ChangeEvent): Uint8Array {
  return crypto
    .createHash('sha256')
    .update(`\0${eventLeafText(e)}`, 'utf8')
    .digest()
}

/** `toHex(eventLeafHash(e))`. */
export function nodeLeafHex(e: ChangeEvent): string {
  return sha256TextHex(`\0${eventLeafText(e)}`)
}

/** `toHex(b)`. */
export const nodeToHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** What stands in the rebuilt tree for a stored leaf hash that is not one (not 64 lower-case
 * hex digits: written by hand): 32 zero bytes, so every root over it differs from the
 * checkpoints' and the leaf's event is reported as changed — a finding, not a failed run. */
const NOT_A_LEAF = new Uint8Array(32)

/** A stored leaf hash's bytes for the rebuilt tree (NOT_A_LEAF when it is not one).
 * `Buffer.from` stops at the first pair that is not hex (so a short result means one) and
 * takes upper case too (hence the comparison). */
export function storedLeafBytes(s: string): Uint8Array {
  if (s.length !== 64) return NOT_A_LEAF
  const b = Buffer.from(s, 'hex')
  return b.length === 32 && s === s.toLowerCase() ? b : NOT_A_LEAF
}
