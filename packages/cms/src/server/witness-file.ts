/**
 * `CHECKPOINT_LOG`: a witness file outside the database. Every new checkpoint is appended
 * as one JSON line `{"tenantId", "treeSize", "rootHash", "createdAt", "note"}` and synced
 * to disk before the next, so a later `audited verify --against FILE` can tell a rewritten
 * or truncated log from the one that was published. A failed append is reported (the
 * caller logs it) and the next append reopens the file; sealing never stops for it.
 */
import { mkdir, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { SealedCheckpoint } from 'audited'

/** One line of the witness file. */
export interface WitnessLine {
  readonly tenantId: string | null
  readonly treeSize: number
  readonly rootHash: string
  readonly createdAt: string
  /** The C2SP signed note. */
  readonly note: string
}

export interface WitnessFile {
  /** Appends the checkpoint and syncs the file (rejects on failure). */
  append(checkpoint: SealedCheckpoint): Promise<void>
  close(): Promise<void>
}

export function witnessLine(c: SealedCheckpoint): string {
  const line: WitnessLine = {
    tenantId: c.tenantId,
    treeSize: c.treeSize,
    rootHash: c.rootHash,
    createdAt: c.createdAt,
    note: c.note,
  }
  return `${JSON.stringify(line)}\n`
}

/** Appends to `path` (created, with its directory, when missing), one append at a time. */
export function openWitnessFile(path: string): WitnessFile {
  let handle: Awaited<ReturnType<typeof open>> | undefined
  let queue: Promise<unknown> = Promise.resolve()
  const write = async (text: string) => {
    try {
      if (handle === undefined) {
        await mkdir(dirname(path), { recursive: true })
        handle = await open(path, 'a', 0o644)
      }
      await handle.appendFile(text)
      await handle.sync()
    } catch (e) {
      const h = handle
      handle = undefined
      await h?.close().catch(() => undefined)
      throw new Error(`appending to CHECKPOINT_LOG ${path} failed: ${(e as Error).message}`, { cause: e })
    }
  }
  return {
    append(checkpoint) {
      const done = queue.then(() => write(witnessLine(checkpoint)))
      queue = done.catch(() => undefined)
      return done
    },
    async close() {
      await queue
      await handle?.close()
      handle = undefined
    },
  }
}

/**
 * The checkpoint notes of a witness file's text. A line that is not a witness line is an
 * error naming it — except a last line without its newline, which a crash cut short while
 * it was being appended: it is skipped (`torn`).
 */
export function parseWitnessFile(text: string, file: string): { notes: string[]; torn: boolean } {
  const lines = text.split('\n')
  const notes: string[] = []
  let torn = false
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue
    let note: unknown
    try {
      note = (JSON.parse(line) as { note?: unknown } | null)?.note
    } catch {
      note = undefined
    }
    if (typeof note === 'string') {
      notes.push(note)
      continue
    }
    if (i === lines.length - 1) {
      torn = true
      continue
    }
    throw new Error(`line ${i + 1} of ${file} is not a checkpoint line ({"tenantId", …, "note"})`)
  }
  return { notes, torn }
}
