import { realpathSync } from 'node:fs'
import { WriterLock } from '../writer-lock.js'

/**
 * One writer lock per SQLite file and process, shared by every handle `openDatabase` opens
 * on that file here.
 *
 * Why: each handle has its own connection, and better-sqlite3 waits for another
 * connection's write lock synchronously, in SQLite's busy handler. A write on one handle
 * while another handle of the same process held a transaction open (across an `await`)
 * therefore blocked the whole process — the holder could not run to its COMMIT — until
 * `busy_timeout` ran out and the write failed. Queued on one lock, the second handle waits
 * without blocking, and SQLite's own lock is only ever contended by other processes.
 */
const locks = new Map<string, { lock: WriterLock; handles: number }>()

/** The file's key: its real path (the file exists once the connection opened it). */
function keyOf(path: string): string | undefined {
  if (path === ':memory:' || path === '') return undefined // a private database per connection
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}

/** The lock for a handle of `path` (opened already), and the function its close calls. */
export function writerLockFor(path: string): { lock: WriterLock; release: () => void } {
  const key = keyOf(path)
  if (key === undefined) return { lock: new WriterLock(), release: () => {} }
  let entry = locks.get(key)
  if (entry === undefined) {
    entry = { lock: new WriterLock(), handles: 0 }
    locks.set(key, entry)
  }
  entry.handles += 1
  const mine = entry
  let released = false
  return {
    lock: mine.lock,
    release: () => {
      if (released) return
      released = true
      mine.handles -= 1
      if (mine.handles === 0 && locks.get(key) === mine) locks.delete(key)
    },
  }
}
