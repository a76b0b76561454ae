/**
 * The manifest of an archive segment: which leaves of which tenant's log a retention run
 * archived (and may purge), the segment's own Merkle root over their leaf hashes, the
 * checkpoint that covered them, the segment file's SHA-256 (none when the run did not
 * archive) — signed as a C2SP note with the checkpoint key. Its first lines make sure no
 * checkpoint verifier could take it for a checkpoint (the second line is not a tree size).
 * Portable (no Node.js module).
 */
import { originOf, tenantOfOrigin } from './checkpoints.js'
import { openNote, signNote, type Verifier } from './note.js'

export const MANIFEST_HEADER = 'audited archive segment v1'

/** Leaf indexes as sorted, disjoint, non-adjacent inclusive ranges. */
export type LeafRanges = readonly (readonly [number, number])[]

export interface ManifestFacts {
  readonly segmentId: string
  readonly tenantId: string | null
  readonly first: number
  readonly last: number
  readonly count: number
  /** Every leaf index the segment holds (a purge marks only these). */
  readonly ranges: LeafRanges
  /** Hex: the Merkle root (RFC 6962) over the segment's leaf hashes, in index order. */
  readonly root: string
  /** The checkpoint that covered every leaf of the segment when it was written. */
  readonly checkpointSize: number
  readonly checkpointRoot: string
  /** The segment file (absent: purged without an archive file). */
  readonly file: { readonly name: string; readonly sha256: string } | null
  readonly time: string
}

export interface ManifestSigner {
  readonly name: string
  readonly publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
}

/** Sorted distinct indexes as ranges. */
export function toRanges(indexes: readonly number[]): [number, number][] {
  const out: [number, number][] = []
  for (const i of indexes) {
    const last = out.at(-1)
    if (last !== undefined && i === last[1] + 1) last[1] = i
    else if (last !== undefined && i <= last[1]) throw new Error('leaf indexes must be sorted and distinct')
    else out.push([i, i])
  }
  return out
}

/** Whether `index` is in `ranges` (binary search). */
export function inRanges(ranges: LeafRanges, index: number): boolean {
  let lo = 0
  let hi = ranges.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const [a, b] = ranges[mid]!
    if (index < a) hi = mid - 1
    else if (index > b) lo = mid + 1
    else return true
  }
  return false
}

const formatRanges = (r: LeafRanges) => r.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',')
const HEX64 = /^[0-9a-f]{64}$/
const FILE_NAME = /^[A-Za-z0-9._-]{1,200}$/
const SEGMENT_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/

function count(r: LeafRanges): number {
  return r.reduce((n, [a, b]) => n + b - a + 1, 0)
}

/** The manifest's note text (unsigned). Throws on inconsistent facts. */
export function formatManifest(signerName: string, m: ManifestFacts): string {
  check(m)
  return [
    MANIFEST_HEADER,
    `origin ${originOf(signerName, m.tenantId)}`,
    `segment ${m.segmentId}`,
    `leaves ${m.first} ${m.last} ${m.count}`,
    `ranges ${formatRanges(m.ranges)}`,
    `root ${m.root}`,
    `checkpoint ${m.checkpointSize} ${m.checkpointRoot}`,
    m.file === null ? 'file none' : `file ${m.file.name} ${m.file.sha256}`,
    `time ${m.time}`,
  ]
    .map((l) => `${l}\n`)
    .join('')
}

/** Signs a manifest; returns its note. */
export function signManifest(signer: ManifestSigner, m: ManifestFacts): string {
  return signNote(formatManifest(signer.name, m), signer.name, signer.publicKey, (x) => signer.sign(x))
}

function check(m: ManifestFacts): void {
  const ok =
    SEGMENT_ID.test(m.segmentId) &&
    m.ranges.length > 0 &&
    m.ranges.every(
      ([a, b], i) =>
        Number.isSafeInteger(a) &&
        Number.isSafeInteger(b) &&
        a >= 0 &&
        a <= b &&
        (i === 0 || a > m.ranges[i - 1]![1] + 1),
    ) &&
    m.first === m.ranges[0]![0] &&
    m.last === m.ranges.at(-1)![1] &&
    m.count === count(m.ranges) &&
    Number.isSafeInteger(m.checkpointSize) &&
    m.last < m.checkpointSize &&
    HEX64.test(m.root) &&
    HEX64.test(m.checkpointRoot) &&
    (m.file === null || (FILE_NAME.test(m.file.name) && HEX64.test(m.file.sha256))) &&
    m.time.length > 0 &&
    !/\s/.test(m.time)
  if (!ok) throw new Error('inconsistent archive manifest')
}

const INTEGER = /^(0|[1-9]\d{0,15})$/

function parseRanges(text: string): [number, number][] {
  return text.split(',').map((part) => {
    const [a, b, extra] = part.split('-')
    if (a === undefined || !INTEGER.test(a) || extra !== undefined || (b !== undefined && !INTEGER.test(b)))
      throw new Error('malformed archive manifest: ranges')
    return [Number(a), Number(b ?? a)]
  })
}

/**
 * Opens a manifest note signed by `verifier` and returns its facts; throws (NoteError for
 * a bad or missing signature, Error for a malformed or inconsistent manifest).
 */
export function openManifest(note: string, verifier: Verifier): ManifestFacts {
  const lines = openNote(note, verifier).slice(0, -1).split('\n')
  const field = (i: number, key: string): string[] => {
    const line = lines[i]
    if (line === undefined || !line.startsWith(`${key} `))
      throw new Error(`malformed archive manifest: ${key}`)
    return line.slice(key.length + 1).split(' ')
  }
  if (lines[0] !== MANIFEST_HEADER || lines.length !== 9) throw new Error('not an archive manifest')
  const [origin = ''] = field(1, 'origin')
  const tenantId = tenantOfOrigin(verifier.name, origin)
  if (tenantId === undefined)
    throw new Error(`the manifest's origin ${origin} is not one of ${verifier.name}`)
  const [segmentId = ''] = field(2, 'segment')
  const leaves = field(3, 'leaves')
  const [ranges = ''] = field(4, 'ranges')
  const [root = ''] = field(5, 'root')
  const cp = field(6, 'checkpoint')
  const file = field(7, 'file')
  const [time = ''] = field(8, 'time')
  const num = (s: string | undefined) => {
    if (s === undefined || !INTEGER.test(s)) throw new Error('malformed archive manifest: a number')
    return Number(s)
  }
  if (
    leaves.length !== 3 ||
    cp.length !== 2 ||
    !(file.length === 2 || (file.length === 1 && file[0] === 'none'))
  )
    throw new Error('malformed archive manifest')
  const facts: ManifestFacts = {
    segmentId,
    tenantId,
    first: num(leaves[0]),
    last: num(leaves[1]),
    count: num(leaves[2]),
    ranges: parseRanges(ranges),
    root,
    checkpointSize: num(cp[0]),
    checkpointRoot: cp[1] ?? '',
    file: file.length === 2 ? { name: file[0]!, sha256: file[1]! } : null,
    time,
  }
  check(facts)
  return facts
}
