import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { AuditedDatabase } from '../db/open-database.js'
import { MANIFEST_SUFFIX, readSegmentFile, sha256Hex } from './archive-file.js'
import { inRanges, type ManifestFacts, openManifest } from './archive-manifest.js'
import { ArchiveStore } from './archive-store.js'
import { eventLeafHash } from './leaf.js'
import { LogStore, logKeyOf } from './log-store.js'
import { fromHex, rootOf, toHex } from './merkle.js'
import { nodeHasher } from './node-crypto.js'
import { NoteError, type Verifier } from './note.js'

export type ArchiveFindingKind =
  /** The manifest carries no valid signature of the log's key. */
  | 'bad_signature'
  /** A manifest or segment file that cannot be read as one. */
  | 'malformed'
  /** The database has no such segment, or holds another manifest for it. */
  | 'manifest_mismatch'
  /** A segment the database lists with a file, whose manifest or file is not in the directory. */
  | 'file_missing'
  /** The file's SHA-256 is not the one its manifest signs. */
  | 'file_hash'
  /** A line's event does not hash to the stored leaf at its index (or is not listed). */
  | 'leaf_mismatch'
  /** The lines' leaves do not hash to the segment root its manifest signs. */
  | 'segment_root'
  /** The checkpoint the manifest names is not stored with that root. */
  | 'checkpoint_mismatch'

export interface ArchiveFinding {
  readonly kind: ArchiveFindingKind
  readonly tenantId?: string | null
  readonly segmentId?: string
  /** Relative to the archive directory. */
  readonly file?: string
  readonly leafIndex?: number
  readonly detail: string
}

export interface ArchiveReport {
  readonly clean: boolean
  readonly segments: number
  readonly events: number
  readonly findings: ArchiveFinding[]
}

export interface VerifyArchiveOptions {
  readonly db: AuditedDatabase
  /** The log's public key: every manifest must carry its valid signature. */
  readonly verifier: Verifier
  /** The archive directory (ARCHIVE_DIR). */
  readonly dir: string
  /** Only this tenant's segments (`null`: events without a tenant); omitted: all. */
  readonly tenantId?: string | null
  /** Segments checked so far and their total. */
  readonly onProgress?: (done: number, total: number) => void
}

function manifestsIn(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile() && entry.name.endsWith(MANIFEST_SUFFIX)) out.push(path)
    }
  }
  if (existsSync(dir)) walk(dir)
  return out.sort()
}

/**
 * Verifies an archive directory against the database: each manifest's signature (the
 * checkpoint key), that the database stores the same manifest, the segment file's SHA-256,
 * every line's recomputed leaf hash against the stored leaf at its index, the segment root,
 * and the covering checkpoint; and that every segment the database lists with a file is
 * there.
 */
export async function verifyArchive(o: VerifyArchiveOptions): Promise<ArchiveReport> {
  const store = new ArchiveStore(o.db.readKysely, o.db.capabilities)
  const logs = new LogStore(o.db.readKysely, o.db.capabilities)
  const findings: ArchiveFinding[] = []
  const seen = new Set<string>()
  const manifests = manifestsIn(o.dir)
  let events = 0
  let segments = 0
  for (const [i, path] of manifests.entries()) {
    const file = relative(o.dir, path)
    const find = (f: Omit<ArchiveFinding, 'file'>) => findings.push({ file, ...f })
    const note = readFileSync(path, 'utf8')
    let facts: ManifestFacts
    try {
      facts = openManifest(note, o.verifier)
    } catch (e) {
      find({
        kind: e instanceof NoteError ? 'bad_signature' : 'malformed',
        detail: `${file}: ${(e as Error).message}`,
      })
      continue
    }
    if (o.tenantId !== undefined && facts.tenantId !== o.tenantId) continue
    segments += 1
    seen.add(facts.segmentId)
    const at = { tenantId: facts.tenantId, segmentId: facts.segmentId }
    const row = await store.segment(facts.segmentId)
    if (row === undefined || row.note !== note || row.logKey !== logKeyOf(facts.tenantId))
      find({
        ...at,
        kind: 'manifest_mismatch',
        detail: `segment ${facts.segmentId}: the database ${row === undefined ? 'has no such segment' : 'holds another manifest for it'}`,
      })
    const logKey = logKeyOf(facts.tenantId)
    const cp = await logs.checkpointAt(logKey, facts.checkpointSize)
    if (cp === undefined || cp.rootHash !== facts.checkpointRoot)
      find({
        ...at,
        kind: 'checkpoint_mismatch',
        detail: `segment ${facts.segmentId}: checkpoint ${facts.checkpointSize} is ${cp === undefined ? 'not stored' : 'stored with another root'}`,
      })
    if (facts.file === null) continue
    const dataPath = join(path, '..', facts.file.name)
    let back: ReturnType<typeof readSegmentFile>
    try {
      if (!existsSync(dataPath)) {
        find({
          ...at,
          kind: 'file_missing',
          detail: `segment ${facts.segmentId}: ${facts.file.name} is missing`,
        })
        continue
      }
      if (sha256Hex(readFileSync(dataPath)) !== facts.file.sha256) {
        find({
          ...at,
          kind: 'file_hash',
          detail: `${facts.file.name}: its SHA-256 is not the one its manifest signs`,
        })
        continue
      }
      back = readSegmentFile(dataPath)
    } catch (e) {
      find({ ...at, kind: 'malformed', detail: `${facts.file.name}: ${(e as Error).message}` })
      continue
    }
    const stored = new Map(
      (
        await store.leavesAt(
          logKey,
          back.lines.map((l) => l.leafIndex),
        )
      ).map((l) => [l.leafIndex, l]),
    )
    const hashes: Uint8Array[] = []
    let previous = -1
    for (const line of back.lines) {
      events += 1
      const hash = toHex(eventLeafHash(line.event, nodeHasher))
      const leaf = stored.get(line.leafIndex)
      if (
        line.leafIndex <= previous ||
        !inRanges(facts.ranges, line.leafIndex) ||
        leaf === undefined ||
        leaf.leafHash !== hash ||
        leaf.eventId !== line.event.eventId
      )
        find({
          ...at,
          kind: 'leaf_mismatch',
          leafIndex: line.leafIndex,
          detail: `segment ${facts.segmentId}: the event at leaf ${line.leafIndex} does not hash to the stored leaf (or is not listed by its manifest)`,
        })
      previous = line.leafIndex
      hashes.push(fromHex(hash))
    }
    if (back.lines.length !== facts.count || toHex(rootOf(hashes, nodeHasher)) !== facts.root)
      find({
        ...at,
        kind: 'segment_root',
        detail: `segment ${facts.segmentId}: its ${back.lines.length} lines do not hash to the root of its manifest's ${facts.count} leaves`,
      })
    o.onProgress?.(i + 1, manifests.length)
  }
  const only = o.tenantId === undefined ? undefined : logKeyOf(o.tenantId)
  for (const s of await store.segmentsWithFiles(only)) {
    if (seen.has(s.segmentId)) continue
    findings.push({
      kind: 'file_missing',
      tenantId: s.logKey === '' ? null : s.logKey,
      segmentId: s.segmentId,
      detail: `segment ${s.segmentId} (leaves ${s.firstLeaf}…${s.lastLeaf}) is archived in ${s.fileName}, which is not in ${o.dir}`,
    })
  }
  return { clean: findings.length === 0, segments, events, findings }
}
