/**
 * A generated key's file, written once: the whole text under a temporary name (mode 0600,
 * fsynced), then linked into place only if no file is there — so two processes starting at
 * once end up with one key, whichever linked first. Used for the checkpoint signing key and
 * the personal-data master key.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs'

/** `created`: `text` is the file now; `exists`: another file was there first (read it).
 * Throws the file system's error otherwise. */
export function createKeyFile(dir: string, file: string, text: string): 'created' | 'exists' {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    mkdirSync(dir, { recursive: true })
    const fd = openSync(temporary, 'wx', 0o600)
    try {
      writeSync(fd, `${text}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    try {
      linkSync(temporary, file)
      return 'created'
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      return 'exists'
    }
  } finally {
    try {
      unlinkSync(temporary)
    } catch {
      // not written
    }
  }
}
