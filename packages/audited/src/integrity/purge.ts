import { relative as relativePath } from 'node:path'
import type { Auditor } from '../audit/auditor.js'
import type { ChangeEvent } from '../audit/change-event.js'
import { createIdFactory } from '../core/ids.js'
import type { AuditedDatabase } from '../db/open-database.js'
import { type SegmentLine, writeManifestFile, writeSegmentFile } from './archive-file.js'
import { type ManifestFacts, type ManifestSigner, signManifest, toRanges } from './archive-manifest.js'
import { archiveFailed, verifySegmentFile } from './archive-readback.js'
import { ArchiveStore } from './archive-store.js'
import { eventLeafHash } from './leaf.js'
import { LogStore, logKeyOf, type StoredLeaf } from './log-store.js'
import { fromHex, rootOf, toHex } from './merkle.js'
import { nodeHasher } from './node-crypto.js'

export interface PurgeOptions {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
  /** Signs the segments' manifests: the checkpoint key (see `signerFromKey`). */
  readonly signer: ManifestSigner
  /** The log purged: this tenant's (`null`: events without a tenant). */
  readonly tenantId: string | null
  /** Only events with a wall time before this are candidates. */
  readonly before: Date
  /** Which candidates are due (default: all of them); e.g. a per-table cutoff. */
  readonly due?: (e: ChangeEvent) => boolean
  /** Reads the legal holds: called when the run starts and right before every purge
   * batch; a held event is never purged. */
  readonly holds?: () => Promise<(e: ChangeEvent) => boolean>
  /** Where segment files go; absent: events are purged without a file (still under a
   * signed manifest, so a verifier tells a purge from a deletion). */
  readonly archiveDir?: string
  /** Counts what would be purged; writes nothing. */
  readonly dryRun?: boolean
  /** Events per purge transaction (default 500). */
  readonly batchSize?: number
  /** Events per segment at most (default 10 000). */
  readonly segmentEvents?: number
  readonly onProgress?: (p: PurgeProgress) => void
  /** Stops the run after the batch in progress. */
  readonly signal?: AbortSignal
}

export interface PurgeProgress {
  readonly scanned: number
  readonly purged: number
  readonly segments: number
}

export interface SegmentSummary {
  readonly segmentId: string
  readonly first: number
  readonly last: number
  readonly count: number
  /** Of `count`, the events purged (a hold placed during the run keeps the others). */
  readonly purged: number
  /** Relative to the archive directory; null without an archive file. */
  readonly file: string | null
  readonly manifest: string | null
  readonly sha256: string | null
  readonly root: string
  readonly checkpointSize: number
}

export interface RefusedEvent {
  readonly eventId: string
  readonly leafIndex: number
  readonly detail: string
}

export interface PurgeReport {
  readonly tenantId: string | null
  readonly dryRun: boolean
  /** The size of the checkpoint that covered the run (0: none, nothing is purged). */
  checkpointSize: number
  /** Events read with a wall time before `before`. */
  scanned: number
  /** Due, sealed, covered by the checkpoint and not held: purged (or, dry, would be). */
  due: number
  purged: number
  /** Due but under a legal hold. */
  held: number
  /** Due but not sealed or not covered by a checkpoint yet. */
  uncovered: number
  /** Events whose recomputed leaf hash differs from their stored leaf: never archived
   * nor purged (the first 100; `refusedCount` counts them all). */
  readonly refused: RefusedEvent[]
  refusedCount: number
  readonly segments: SegmentSummary[]
  /** Set when the run stopped on an error after it had purged something (what it purged
   * is above; its caller should record it, then report the error). An error before any
   * purge is thrown instead. */
  stopped?: unknown
}

const PAGE = 1000
/** A manifest lists its leaves as ranges; this bounds its size (holds punch holes). */
const MAX_RANGES = 1000
const newSegmentId = createIdFactory()

interface Candidate {
  readonly event: ChangeEvent
  readonly leaf: StoredLeaf
}

/**
 * Archives, then purges, a tenant's expired events: only events sealed and covered by the
 * newest checkpoint, never a held one, never one whose recomputed leaf differs from its
 * stored leaf (refused and reported). Each segment — at most `segmentEvents` events, in
 * leaf order — is written, fsynced, read back and verified against the stored leaves, its
 * signed manifest stored, before any of its events is deleted; deletes then go in short
 * transactions of `batchSize`, the holds re-read before each. Leaves stay (marked with the
 * segment), so the tree, every checkpoint and every proof stay valid.
 */
export async function purgeExpired(o: PurgeOptions): Promise<PurgeReport> {
  const report = emptyReport(o)
  try {
    await run(o, report)
  } catch (e) {
    if (report.purged === 0) throw e
    report.stopped = e
  }
  return report
}

function emptyReport(o: PurgeOptions): PurgeReport {
  return {
    tenantId: o.tenantId,
    dryRun: o.dryRun === true,
    checkpointSize: 0,
    scanned: 0,
    due: 0,
    purged: 0,
    held: 0,
    uncovered: 0,
    refused: [],
    refusedCount: 0,
    segments: [],
  }
}

async function run(o: PurgeOptions, report: PurgeReport): Promise<void> {
  const logKey = logKeyOf(o.tenantId)
  const logs = new LogStore(o.db.kysely, o.db.capabilities)
  const archive = new ArchiveStore(o.db.kysely, o.db.capabilities)
  const checkpoint = await logs.latestCheckpoint(logKey)
  report.checkpointSize = checkpoint?.treeSize ?? 0
  const batchSize = o.batchSize ?? 500
  const segmentEvents = o.segmentEvents ?? 10_000
  const readHolds = async () => (o.holds === undefined ? () => false : await o.holds())
  const progress = () =>
    o.onProgress?.({ scanned: report.scanned, purged: report.purged, segments: report.segments.length })

  const writeSegment = async (chunk: readonly Candidate[]) => {
    const segmentId = newSegmentId()
    const ranges = toRanges(chunk.map((c) => c.leaf.leafIndex))
    const root = toHex(
      rootOf(
        chunk.map((c) => fromHex(c.leaf.leafHash)),
        nodeHasher,
      ),
    )
    let file: { name: string; path: string; sha256: string } | undefined
    if (o.archiveDir !== undefined) {
      const lines: SegmentLine[] = chunk.map((c) => ({
        leafIndex: c.leaf.leafIndex,
        leafHash: c.leaf.leafHash,
        event: c.event,
      }))
      let written: { path: string; sha256: string }
      try {
        written = writeSegmentFile(o.archiveDir, logKey, segmentId, lines)
      } catch (e) {
        throw archiveFailed(`The archive segment could not be written: ${(e as Error).message}.`, e)
      }
      await verifySegmentFile(archive, logKey, written, chunk, root)
      file = { name: `${segmentId}.ndjson.gz`, ...written }
    }
    const facts: ManifestFacts = {
      segmentId,
      tenantId: o.tenantId,
      first: ranges[0]![0],
      last: ranges.at(-1)![1],
      count: chunk.length,
      ranges,
      root,
      checkpointSize: checkpoint!.treeSize,
      checkpointRoot: checkpoint!.rootHash,
      file: file === undefined ? null : { name: file.name, sha256: file.sha256 },
      time: new Date().toISOString(),
    }
    const note = signManifest(o.signer, facts)
    let manifest: string | undefined
    if (o.archiveDir !== undefined) {
      try {
        manifest = writeManifestFile(o.archiveDir, logKey, segmentId, note)
      } catch (e) {
        throw archiveFailed(`The archive manifest could not be written: ${(e as Error).message}.`, e)
      }
    }
    await archive.insertSegment({
      segmentId,
      logKey,
      firstLeaf: facts.first,
      lastLeaf: facts.last,
      leafCount: facts.count,
      fileName: file?.name ?? null,
      fileSha256: file?.sha256 ?? null,
      createdAt: facts.time,
      note,
    })
    const relative = (path: string | undefined) =>
      path === undefined ? null : relativePath(o.archiveDir!, path)
    return { segmentId, facts, file: relative(file?.path), manifest: relative(manifest) }
  }

  const purgeSegment = async (chunk: readonly Candidate[]) => {
    const s = await writeSegment(chunk)
    let purged = 0
    for (let i = 0; i < chunk.length && !o.signal?.aborted; i += batchSize) {
      const held = await readHolds()
      const batch = chunk.slice(i, i + batchSize)
      const free = batch.filter((c) => !held(c.event))
      report.held += batch.length - free.length
      const done = await archive.purge(
        logKey,
        s.segmentId,
        free.map((c) => c.event.eventId),
      )
      purged += done.length
      report.purged += done.length
      progress()
    }
    report.segments.push({
      segmentId: s.segmentId,
      first: s.facts.first,
      last: s.facts.last,
      count: s.facts.count,
      purged,
      file: s.file,
      manifest: s.manifest,
      sha256: s.facts.file?.sha256 ?? null,
      root: s.facts.root,
      checkpointSize: s.facts.checkpointSize,
    })
  }

  /** Leaf order; a segment ends at `segmentEvents` events, or where its manifest would
   * list too many ranges (holds punch holes). */
  const flush = async (buffer: Candidate[]) => {
    buffer.sort((a, b) => a.leaf.leafIndex - b.leaf.leafIndex)
    const take = async (chunk: readonly Candidate[]) => {
      report.due += chunk.length
      if (!report.dryRun) await purgeSegment(chunk)
    }
    let chunk: Candidate[] = []
    let ranges = 0
    for (const c of buffer) {
      const prev = chunk.at(-1)
      const opens = prev === undefined || c.leaf.leafIndex !== prev.leaf.leafIndex + 1
      if (chunk.length >= segmentEvents || (opens && ranges >= MAX_RANGES)) {
        await take(chunk)
        chunk = []
        ranges = 0
        if (o.signal?.aborted) return
      }
      if (chunk.length === 0 || opens) ranges += 1
      chunk.push(c)
    }
    if (chunk.length > 0) await take(chunk)
  }

  if (checkpoint === undefined) return
  let holds = await readHolds()
  let buffer: Candidate[] = []
  let after: string | undefined
  while (!o.signal?.aborted) {
    // Stored form: what the leaves hash, and what an archive may hold (ciphertext only).
    const page = await o.auditor.events.list({
      stored: true,
      tenantId: o.tenantId,
      to: o.before,
      limit: PAGE,
      ...(after === undefined ? {} : { after }),
    })
    const before = o.before.getTime()
    const candidates = page.events.filter((e) => Date.parse(e.wallTime) < before)
    report.scanned += candidates.length
    const due = o.due === undefined ? candidates : candidates.filter(o.due)
    const leaves = new Map(
      (
        await archive.leavesOfEvents(
          logKey,
          due.map((e) => e.eventId),
        )
      ).map((l) => [l.eventId, l]),
    )
    for (const event of due) {
      const leaf = leaves.get(event.eventId)
      if (leaf === undefined || leaf.leafIndex >= checkpoint.treeSize || (leaf.segmentId ?? null) !== null) {
        report.uncovered += 1
      } else if (holds(event)) {
        report.held += 1
      } else if (toHex(eventLeafHash(event, nodeHasher)) !== leaf.leafHash) {
        report.refusedCount += 1
        if (report.refused.length < 100)
          report.refused.push({
            eventId: event.eventId,
            leafIndex: leaf.leafIndex,
            detail: `event ${event.eventId} no longer hashes to its leaf ${leaf.leafIndex}: it changed after it was sealed`,
          })
      } else buffer.push({ event, leaf })
    }
    if (buffer.length >= segmentEvents) {
      await flush(buffer)
      buffer = []
      holds = await readHolds()
    }
    progress()
    if (!page.hasMore || page.nextCursor === null) break
    after = page.nextCursor
  }
  if (!o.signal?.aborted) await flush(buffer)
}
