/**
 * The Node.js fast path of the sealer and the verifier: a leaf hash straight from the
 * event's canonical text, and hex through `Buffer`. Byte for byte what the portable
 * functions (leaf.ts, merkle.ts) give, errors included.
 */
import { createHash } from 'node:crypto'
import type { ChangeEvent } from '../audit/change-event.js'
import { eventLeafText } from './leaf.js'
import { fromHex } from './merkle.js'

const ZERO = new Uint8Array(1)

/** `eventLeafHash(e)`: SHA-256(0x00 ‖ UTF-8 canonical JSON of the event). */
export function nodeLeafHash(e: ChangeEvent): Uint8Array {
  return createHash('sha256').update(ZERO).update(eventLeafText(e), 'utf8').digest()
}

/** `toHex(eventLeafHash(e))`. */
export function nodeLeafHex(e: ChangeEvent): string {
  return createHash('sha256').update(ZERO).update(eventLeafText(e), 'utf8').digest('hex')
}

/** `toHex(b)`. */
export const nodeToHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

const HEX = /^(?:[0-9a-f]{2})*$/

/** `fromHex(s)`: the same bytes, and the same error for text that is not lower-case hex. */
export const nodeFromHex = (s: string): Uint8Array => (HEX.test(s) ? Buffer.from(s, 'hex') : fromHex(s))
