import { rmSync } from 'node:fs'
import type { ChangeEvent } from '../audit/change-event.js'
import { AuditedError } from '../core/errors.js'
import { readSegmentFile } from './archive-file.js'
import type { ArchiveStore } from './archive-store.js'
import { eventLeafHash } from './leaf.js'
import type { StoredLeaf } from './log-store.js'
import { fromHex, rootOf, toHex } from './merkle.js'
import { nodeHasher } from './node-crypto.js'

/** The archive could not be written or did not read back as written: nothing is purged. */
export const archiveFailed = (message: string, cause?: unknown) =>
  new AuditedError('unavailable', `${message} Nothing of this segment was purged.`, {
    details: { reason: 'archive_failed' },
    retryAfterSeconds: 60,
    ...(cause === undefined ? {} : { cause }),
  })

/**
 * Reads a freshly written segment file back and checks it before anything is deleted: the
 * same bytes (SHA-256), the same events in the same leaf order, each line's recomputed
 * leaf hash equal to the leaf stored in the database now, and the same segment root. On
 * any difference the file is removed and the run stops (`archive_failed`).
 */
export async function verifySegmentFile(
  archive: ArchiveStore,
  logKey: string,
  written: { path: string; sha256: string },
  chunk: readonly { readonly event: ChangeEvent; readonly leaf: StoredLeaf }[],
  root: string,
): Promise<void> {
  const fail = (why: string, cause?: unknown): never => {
    rmSync(written.path, { force: true })
    throw archiveFailed(`The archive segment ${written.path} did not read back as written: ${why}.`, cause)
  }
  let back: ReturnType<typeof readSegmentFile>
  try {
    back = readSegmentFile(written.path)
  } catch (e) {
    return fail((e as Error).message, e)
  }
  if (back.sha256 !== written.sha256) fail('its SHA-256 differs')
  if (back.lines.length !== chunk.length) fail(`${back.lines.length} lines instead of ${chunk.length}`)
  const stored = new Map(
    (
      await archive.leavesOfEvents(
        logKey,
        chunk.map((c) => c.event.eventId),
      )
    ).map((l) => [l.eventId, l]),
  )
  const hashes: Uint8Array[] = []
  for (const [i, line] of back.lines.entries()) {
    const want = chunk[i]!
    const leaf = stored.get(want.event.eventId)
    if (line.leafIndex !== want.leaf.leafIndex || line.event.eventId !== want.event.eventId)
      fail(`line ${i + 1} is not event ${want.event.eventId} at leaf ${want.leaf.leafIndex}`)
    const hash = toHex(eventLeafHash(line.event, nodeHasher))
    if (leaf === undefined || leaf.leafIndex !== line.leafIndex || leaf.leafHash !== hash)
      fail(`line ${i + 1}'s event does not hash to the stored leaf ${line.leafIndex}`)
    hashes.push(fromHex(hash))
  }
  if (toHex(rootOf(hashes, nodeHasher)) !== root) fail('its leaves do not hash to the segment root')
}
