/**
 * Checkpoints of the tenants' logs: a C2SP checkpoint body — origin `<name>/t/<tenant>` (or
 * `<name>/none` for events without a tenant), tree size, root hash — with two extension
 * lines, `time <ISO-8601>` and `prev <size of the previous checkpoint>` (so a checkpoint
 * dropped from the middle is missed by the next), signed as a C2SP signed note. Portable.
 */
import { fromHex, toHex } from './merkle.js'
import {
  type Checkpoint,
  formatCheckpoint,
  openNote,
  parseCheckpoint,
  type SignatureCheck,
  signNote,
  type Verifier,
} from './note.js'

export interface CheckpointSigner {
  readonly name: string
  readonly publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
}

/** The origin line of a log's checkpoints. */
export function originOf(name: string, tenantId: string | null): string {
  return tenantId === null ? `${name}/none` : `${name}/t/${encodeURIComponent(tenantId)}`
}

/** The tenant an origin names (undefined: not an origin of `name`). */
export function tenantOfOrigin(name: string, origin: string): string | null | undefined {
  if (origin === `${name}/none`) return null
  const prefix = `${name}/t/`
  if (!origin.startsWith(prefix)) return undefined
  try {
    return decodeURIComponent(origin.slice(prefix.length))
  } catch {
    return undefined
  }
}

export interface CheckpointFacts {
  readonly tenantId: string | null
  readonly treeSize: number
  /** Hex. */
  readonly rootHash: string
  readonly time: string
  readonly previousSize: number
}

/** Signs a checkpoint; returns its note. */
export function signCheckpoint(signer: CheckpointSigner, facts: CheckpointFacts): string {
  const body = formatCheckpoint({
    origin: originOf(signer.name, facts.tenantId),
    size: facts.treeSize,
    root: fromHex(facts.rootHash),
    extensions: [`time ${facts.time}`, `prev ${facts.previousSize}`],
  })
  return signNote(body, signer.name, signer.publicKey, (m) => signer.sign(m))
}

/**
 * Opens a checkpoint note signed by `verifier` and returns what it says (throws NoteError on
 * a bad or missing signature, Error on a malformed body or origin).
 */
export function openCheckpoint(note: string, verifier: Verifier, check?: SignatureCheck): CheckpointFacts {
  const c: Checkpoint = parseCheckpoint(openNote(note, verifier, check))
  const tenantId = tenantOfOrigin(verifier.name, c.origin)
  if (tenantId === undefined)
    throw new Error(`the checkpoint's origin ${c.origin} is not one of ${verifier.name}`)
  const ext = (key: string) => c.extensions.find((e) => e.startsWith(`${key} `))?.slice(key.length + 1)
  const prev = Number(ext('prev') ?? Number.NaN)
  return {
    tenantId,
    treeSize: c.size,
    rootHash: toHex(c.root),
    time: ext('time') ?? '',
    previousSize: Number.isSafeInteger(prev) ? prev : -1,
  }
}
