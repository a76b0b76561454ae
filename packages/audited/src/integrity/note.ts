/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and the checkpoint body they
 * carry (c2sp.org/tlog-checkpoint): origin, tree size, root hash, then extension lines.
 * Portable (no Node.js module): the explorer verifies checkpoints in the browser with it.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'

const SIG_ED25519 = 0x01

/** Checks an Ed25519 signature of `message` by `publicKey`. */
export type SignatureCheck = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean

/** The portable check (@noble/curves). */
export const nobleSignatureCheck: SignatureCheck = (signature, message, publicKey) =>
  ed25519.verify(signature, message, publicKey)
const DASH = '\u2014 '
const encoder = new TextEncoder()

export const toBase64 = (b: Uint8Array): string => btoa(Array.from(b, (x) => String.fromCharCode(x)).join(''))
export function fromBase64(s: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error('not base64')
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
}

/** A key name: non-empty, no whitespace, no `+`. */
function checkName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name)) throw new Error(`bad key name ${JSON.stringify(name)}`)
}

/** The 4-byte key id: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. */
export function keyId(name: string, publicKey: Uint8Array): Uint8Array {
  const n = encoder.encode(name)
  const input = new Uint8Array(n.length + 2 + publicKey.length)
  input.set(n, 0)
  input[n.length] = 0x0a
  input[n.length + 1] = SIG_ED25519
  input.set(publicKey, n.length + 2)
  return sha256(input).slice(0, 4)
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

/** The verifier key text: `<name>+<hex key id>+<base64(0x01 ‖ public key)>`. */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  checkName(name)
  const material = new Uint8Array(33)
  material[0] = SIG_ED25519
  material.set(publicKey, 1)
  return `${name}+${hex(keyId(name, publicKey))}+${toBase64(material)}`
}

export interface Verifier {
  readonly name: string
  readonly id: Uint8Array
  readonly publicKey: Uint8Array
}

/** Parses a verifier key text (throws on any malformed or inconsistent part). */
export function parseVerifierKey(text: string): Verifier {
  // The key material is base64, which may itself hold `+`.
  const first = text.indexOf('+')
  const second = text.indexOf('+', first + 1)
  if (first < 0 || second < 0) throw new Error('a verifier key is name+id+key')
  const name = text.slice(0, first)
  const idHex = text.slice(first + 1, second)
  const b64 = text.slice(second + 1)
  checkName(name)
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error('a verifier key id is 8 hex digits')
  const material = fromBase64(b64)
  if (material.length !== 33 || material[0] !== SIG_ED25519) throw new Error('not an Ed25519 verifier key')
  const publicKey = material.slice(1)
  const id = keyId(name, publicKey)
  if (hex(id) !== idHex) throw new Error('the verifier key id does not match its key')
  return { name, id, publicKey }
}

/** Signs `text` (one or more lines, each ending in a newline) and returns the note. */
export function signNote(
  text: string,
  name: string,
  publicKey: Uint8Array,
  sign: (msg: Uint8Array) => Uint8Array,
): string {
  checkName(name)
  if (!text.endsWith('\n') || text.includes('\n\n') || text.length === 1)
    throw new Error('note text is non-empty lines, each ending in a newline')
  const sig = sign(encoder.encode(text))
  const blob = new Uint8Array(4 + sig.length)
  blob.set(keyId(name, publicKey), 0)
  blob.set(sig, 4)
  return `${text}\n${DASH}${name} ${toBase64(blob)}\n`
}

export class NoteError extends Error {
  override name = 'NoteError'
}

/**
 * Opens a signed note: returns its text when a signature line of `verifier` verifies;
 * throws NoteError when the note is malformed, carries no signature of that key, or that
 * signature is bad (lines of other keys are ignored, as the spec says). `check` verifies the
 * Ed25519 signature (default: the portable one; Node.js servers pass `nodeSignatureCheck`).
 */
export function openNote(
  note: string,
  verifier: Verifier,
  check: SignatureCheck = nobleSignatureCheck,
): string {
  const split = note.lastIndexOf('\n\n')
  if (split < 0 || !note.endsWith('\n')) throw new NoteError('malformed note')
  const text = note.slice(0, split + 1)
  const lines = note.slice(split + 2, -1).split('\n')
  if (lines.length === 0 || lines.length > 100) throw new NoteError('malformed note')
  const wantId = hex(verifier.id)
  for (const line of lines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line)
    if (m === null) throw new NoteError('malformed signature line')
    let blob: Uint8Array
    try {
      blob = fromBase64(m[2]!)
    } catch {
      throw new NoteError('malformed signature line')
    }
    if (blob.length < 5) throw new NoteError('malformed signature line')
    if (m[1] !== verifier.name || hex(blob.slice(0, 4)) !== wantId) continue
    let ok = false
    try {
      ok = blob.length === 68 && check(blob.slice(4), encoder.encode(text), verifier.publicKey)
    } catch {
      ok = false
    }
    if (!ok) throw new NoteError('bad signature')
    return text
  }
  throw new NoteError(`no signature by ${verifier.name}`)
}

export interface Checkpoint {
  readonly origin: string
  readonly size: number
  readonly root: Uint8Array
  /** Extension lines (here: `time <ISO-8601>`). */
  readonly extensions: readonly string[]
}

/** The checkpoint body (the note text). */
export function formatCheckpoint(c: Checkpoint): string {
  if (/[\n]/.test(c.origin) || c.origin.length === 0) throw new Error('bad origin')
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new Error('bad tree size')
  if (c.root.length !== 32) throw new Error('a root hash is 32 bytes')
  for (const e of c.extensions) if (e.length === 0 || e.includes('\n')) throw new Error('bad extension line')
  return [c.origin, String(c.size), toBase64(c.root), ...c.extensions].map((l) => `${l}\n`).join('')
}

/** Parses a checkpoint body (throws on a malformed one). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new Error('malformed checkpoint')
  const lines = text.slice(0, -1).split('\n')
  if (lines.length < 3) throw new Error('malformed checkpoint')
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]]
  if (origin.length === 0 || !/^(0|[1-9][0-9]{0,15})$/.test(size)) throw new Error('malformed checkpoint')
  const rootBytes = fromBase64(root)
  if (rootBytes.length !== 32) throw new Error('malformed checkpoint')
  return { origin, size: Number(size), root: rootBytes, extensions }
}
