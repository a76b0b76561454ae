/**
 * How to open a second handle on a database this process opened: the URL and options given
 * to `openDatabase`, kept beside the handle (not on it, so no log or inspection of the
 * handle prints a password). A worker thread opens its own connection from it. An in-memory
 * SQLite database has none: nothing else can open it.
 */
import { resolve } from 'node:path'
import { sqliteFilePath } from './dialects/connect.js'

export interface ReopenSpec {
  readonly url: string
  /** The `OpenDatabaseOptions` given (plain data: they cross to a worker as they are). */
  readonly options: object
}

const specs = new WeakMap<object, ReopenSpec>()

/** Remembers how `handle` was opened (a relative SQLite path made absolute). */
export function rememberOpening(handle: object, url: string, options: object): void {
  const path = sqliteFilePath(url)
  if (path === ':memory:') return
  specs.set(handle, { url: path === undefined ? url : `sqlite:${resolve(path)}`, options })
}

/** How to open `handle`'s database again, or undefined (in memory, or not ours). */
export function reopenSpec(handle: object): ReopenSpec | undefined {
  return specs.get(handle)
}
