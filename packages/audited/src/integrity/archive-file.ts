/**
 * Archive segment files: gzip NDJSON, one line per event — `{"leafIndex", "leafHash",
 * "event"}` — in leaf order, and the signed manifest beside it. Both are written under a
 * temporary name, fsynced, renamed into place and the directory fsynced, so a crash leaves
 * either the whole file or none. Layout: `<dir>/<log>/<segment>.ndjson.gz` and
 * `<dir>/<log>/<segment>.manifest`, `<log>` being `none` (events without a tenant) or
 * `t-<tenant, URI-encoded>` (a long tenant id: `h-<SHA-256>`).
 */
import { createHash } from 'node:crypto'
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import type { ChangeEvent } from '../audit/change-event.js'
import { CSV_COLUMNS } from '../audit/event-export.js'

export interface SegmentLine {
  readonly leafIndex: number
  /** Hex: the stored leaf hash when the segment was written. */
  readonly leafHash: string
  readonly event: ChangeEvent
}

export const SEGMENT_SUFFIX = '.ndjson.gz'
export const MANIFEST_SUFFIX = '.manifest'

/** The directory of a log's segments, under the archive directory. */
export function logDirName(logKey: string): string {
  if (logKey === '') return 'none'
  const encoded = encodeURIComponent(logKey)
  return encoded.length <= 100 ? `t-${encoded}` : `h-${createHash('sha256').update(logKey).digest('hex')}`
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** Exactly the event's fields (not a feed cursor or anything else it carries). */
const eventFields = (e: ChangeEvent): ChangeEvent =>
  Object.fromEntries(CSV_COLUMNS.map((k) => [k, e[k]])) as unknown as ChangeEvent

function fsyncDirectory(path: string): void {
  if (process.platform === 'win32') return // directories cannot be opened for fsync there
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Writes `bytes` to `path` durably (temporary file, fsync, rename, fsync the directory). */
export function writeDurably(path: string, bytes: Uint8Array): void {
  const dir = dirname(path)
  // The directories this creates are made durable too: each one's entry in its parent.
  const missing: string[] = []
  for (let d = dir; !exists(d) && dirname(d) !== d; d = dirname(d)) missing.push(d)
  mkdirSync(dir, { recursive: true })
  for (const d of missing) fsyncDirectory(dirname(d))
  const temporary = `${path}.${process.pid}.tmp`
  const fd = openSync(temporary, 'w', 0o640)
  try {
    writeSync(fd, bytes)
    fsyncSync(fd)
  } catch (e) {
    closeSync(fd)
    rmSync(temporary, { force: true })
    throw e
  }
  closeSync(fd)
  renameSync(temporary, path)
  fsyncDirectory(dir)
}

function exists(dir: string): boolean {
  try {
    readdirSync(dir)
    return true
  } catch {
    return false
  }
}

/** Writes a segment file; its path and SHA-256. */
export function writeSegmentFile(
  dir: string,
  logKey: string,
  segmentId: string,
  lines: readonly SegmentLine[],
): { path: string; sha256: string } {
  const text = lines
    .map(
      (l) =>
        `${JSON.stringify({ leafIndex: l.leafIndex, leafHash: l.leafHash, event: eventFields(l.event) })}\n`,
    )
    .join('')
  const bytes = gzipSync(Buffer.from(text, 'utf8'))
  const path = join(dir, logDirName(logKey), `${segmentId}${SEGMENT_SUFFIX}`)
  writeDurably(path, bytes)
  return { path, sha256: sha256Hex(bytes) }
}

/** Writes a segment's signed manifest beside its file; the manifest's path. */
export function writeManifestFile(dir: string, logKey: string, segmentId: string, note: string): string {
  const path = join(dir, logDirName(logKey), `${segmentId}${MANIFEST_SUFFIX}`)
  writeDurably(path, Buffer.from(note, 'utf8'))
  return path
}

/** Reads a segment file back: its SHA-256 and lines (throws on a malformed file). */
export function readSegmentFile(path: string): { sha256: string; lines: SegmentLine[] } {
  const bytes = readFileSync(path)
  const text = gunzipSync(bytes).toString('utf8')
  const lines: SegmentLine[] = []
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      throw new Error(`${basename(path)}: line ${i + 1} is not JSON`)
    }
    const l = parsed as Partial<SegmentLine> | null
    if (
      l === null ||
      typeof l !== 'object' ||
      !Number.isSafeInteger(l.leafIndex) ||
      typeof l.leafHash !== 'string' ||
      typeof l.event !== 'object' ||
      l.event === null
    )
      throw new Error(`${basename(path)}: line ${i + 1} is not { leafIndex, leafHash, event }`)
    lines.push(l as SegmentLine)
  }
  return { sha256: sha256Hex(bytes), lines }
}
