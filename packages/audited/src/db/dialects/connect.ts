import { AuditedError } from '../../core/errors.js'
import type { DatabaseHealth } from '../health.js'
import type { PoolOptions } from './postgres.js'
import type { SqliteOptions } from './sqlite.js'

export interface ConnectOptions {
  readonly pool?: PoolOptions
  readonly sqlite?: SqliteOptions
}

/**
 * Opens the dialect a URL names, loading its driver only then: `better-sqlite3`, `pg` and
 * `mysql2` are optional peer dependencies, so an application installs just the one it
 * uses. A driver that is not installed is an `unavailable` error naming the package.
 */
export async function connectByUrl(url: string, options: ConnectOptions, health: DatabaseHealth) {
  if (typeof url !== 'string') throw new AuditedError('validation', 'A database URL must be a string.')
  const sqlitePath = sqliteFilePath(url)
  if (sqlitePath !== undefined) {
    const { createSqlite } = await load('better-sqlite3', () => import('./sqlite.js'))
    return createSqlite(sqlitePath, options.sqlite ?? {}, health, options.pool?.acquireTimeoutMs ?? 2000)
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { createPostgres } = await load('pg', () => import('./postgres.js'))
    return createPostgres(url, options.pool ?? {}, health)
  }
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    const { createMysql } = await load('mysql2', () => import('./mysql.js'))
    return createMysql(url.replace(/^mariadb:/, 'mysql:'), options.pool ?? {}, health)
  }
  throw new AuditedError('validation', 'Unsupported database URL: use sqlite:, postgres:// or mysql://.', {
    details: { scheme: url.split(':')[0] },
  })
}

/** The file path of a `sqlite:<path>` URL (`:memory:` for `sqlite::memory:`), or undefined
 * when the URL is not a SQLite one. */
export function sqliteFilePath(url: string): string | undefined {
  if (!url.startsWith('sqlite:')) return undefined
  const path = url.slice('sqlite:'.length)
  if (path === '')
    throw new AuditedError('validation', 'A SQLite URL needs a path: sqlite:<path> or sqlite::memory:.')
  return path
}

/**
 * Whether a URL names a database server (PostgreSQL, MySQL) on this machine, sharing its
 * cores with this process: reached over loopback or a Unix socket (`localhost`, `127.x.x.x`
 * in any spelling, `0.0.0.0`, `::1`, `::ffff:127.x.x.x`, no host, or a socket path — pg's
 * `host=/dir` parameter, which also overrides the URL's host, or mysql2's `socketPath`). A
 * server named by another address counts as elsewhere, even when that address is this
 * machine's own; SQLite is no server (it runs in this process, on the thread that writes).
 */
export function serverOnThisMachine(url: string): boolean {
  if (sqliteFilePath(url) !== undefined) return false
  let params: URLSearchParams
  let hostname = ''
  try {
    const parsed = new URL(url)
    params = parsed.searchParams
    hostname = decodeURIComponent(parsed.hostname)
  } catch {
    // No host before the path (`postgres://u@/app?host=/dir`) is no URL to WHATWG: the
    // parameters alone can still name a socket.
    const q = url.indexOf('?')
    if (q < 0) return false
    params = new URLSearchParams(url.slice(q + 1))
    if (!params.has('host') && !params.has('socketPath')) return false
  }
  if (params.has('socketPath')) return true
  const host = params.get('host') ?? hostname
  if (host.startsWith('/')) return true
  return isLoopback(host)
}

/** A host name or address that is this machine's loopback (or "any", which connects to it). */
function isLoopback(host: string): boolean {
  const name = host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase()
  if (name === '' || name === 'localhost' || name === '::1' || name === '::') return true
  let canonical: string
  try {
    // A special scheme spells IPv4 out (127.1 → 127.0.0.1) and compresses IPv6.
    canonical = new URL(`http://${name.includes(':') ? `[${name}]` : name}`).hostname
  } catch {
    return false
  }
  return (
    /^127\.\d+\.\d+\.\d+$/.test(canonical) ||
    canonical === '0.0.0.0' ||
    canonical === '[::1]' ||
    canonical === '[::]' ||
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical)
  )
}

/** Imports a dialect module; its driver missing becomes a clear error naming the package. */
async function load<T>(driver: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer()
  } catch (cause) {
    const e = cause as { code?: unknown; message?: unknown }
    const missing =
      (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') &&
      typeof e.message === 'string' &&
      e.message.includes(`'${driver}'`)
    if (!missing) throw cause
    throw new AuditedError(
      'unavailable',
      `This database needs the "${driver}" package: install it with npm install ${driver}.`,
      { cause, retryable: false, details: { reason: 'driver_missing', package: driver } },
    )
  }
}
