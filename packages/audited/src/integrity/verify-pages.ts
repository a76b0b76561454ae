/**
 * Where `verify` reads its feed pages: leaf workers (worker threads with connections of
 * their own, leaf-worker.ts) where the dialect asks for them — SQLite, whose reads and leaf
 * hashing otherwise run on the caller's one thread (measured: 4.2 s of SQLite reads and 1.9 s
 * of hashing in a 1M-event verify, against 2.5 s for everything else) — else this thread.
 * A page is the same either way: a worker runs `VerifyReader.page` on its connection.
 */
import type { ReopenSpec } from '../db/reopen.js'
import { type FeedPoint, isAfter } from '../feed/feed-cursor.js'
import { LeafWorker, wirePoint } from './leaf-worker-client.js'

export interface LeafRow {
  readonly eventId: string
  readonly tenantId: string | null
  readonly point: FeedPoint
  /** SHA-256 leaf hash, lower-case hex ('' when the event could not be read). */
  readonly hex: string
}

/** A page as it crosses from a worker. */
export interface LeafPageMessage {
  readonly positions: string[]
  readonly eventIds: string[]
  readonly tenants: (string | null)[]
  readonly hexes: string[]
}

export function packLeafPage(rows: readonly LeafRow[]): LeafPageMessage {
  return {
    positions: rows.map((r) => r.point.position.toString()),
    eventIds: rows.map((r) => r.eventId),
    tenants: rows.map((r) => r.tenantId),
    hexes: rows.map((r) => r.hex),
  }
}

const strings = (v: unknown, n: number, nullable = false): v is string[] =>
  Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string' || (nullable && x === null))

/** A worker's answer back into rows; a malformed one throws. */
export function unpackLeafPage(m: unknown): LeafRow[] {
  const p = m as Partial<LeafPageMessage> | null
  const n = Array.isArray(p?.positions) ? p.positions.length : -1
  if (
    !(
      strings(p?.positions, n) &&
      strings(p?.eventIds, n) &&
      strings(p?.tenants, n, true) &&
      strings(p?.hexes, n)
    )
  )
    throw new Error('the leaf worker sent a malformed page')
  return p.positions.map((position, i) => {
    const eventId = p.eventIds![i]!
    return {
      eventId,
      tenantId: p.tenants![i]!,
      point: { position: BigInt(position), eventId },
      hex: p.hexes![i]!,
    }
  })
}

export type ReadPage = (from: FeedPoint, limit: number, upTo?: FeedPoint) => Promise<LeafRow[]>

export interface PageReader {
  readonly read: ReadPage
  /** Worker threads reading now (0: this thread). */
  readonly threads: number
  close(): Promise<void>
}

/** Pages read here. */
export const inThreadPages = (read: ReadPage): PageReader => ({
  read,
  threads: 0,
  async close() {},
})

/** Whether `rows` can be the page asked for: at most `limit` events, in feed order, after
 * `from` and up to `upTo`. A worker's page that is not is read again here. */
function fits(rows: readonly LeafRow[], from: FeedPoint, limit: number, upTo?: FeedPoint): boolean {
  if (rows.length > limit) return false
  let prev = from
  for (const r of rows) {
    if (!isAfter(r.point, prev)) return false
    prev = r.point
  }
  return upTo === undefined || !isAfter(prev, upTo)
}

/**
 * Pages read by `count` workers on connections `spec` opens, in turn (started at the first
 * read). A worker that fails (it cannot start here, its connection breaks, it does not
 * answer, its page is not the one asked for) stops them all: that page and every later one
 * are read by `here`, which then fails if the database is down.
 */
export function workerPages(
  spec: ReopenSpec,
  count: number,
  tenantId: string | null | undefined,
  here: ReadPage,
): PageReader {
  let workers: LeafWorker[] | undefined
  let failed = false
  let turn = 0
  const stop = async () => {
    const all = workers ?? []
    workers = []
    failed = true
    await Promise.all(all.map((w) => w.close()))
  }
  return {
    get threads() {
      return failed ? 0 : count
    },
    async read(from, limit, upTo) {
      if (failed) return here(from, limit, upTo)
      try {
        // Started here, inside the try: a process that may not start threads (Node's
        // permission model) reads on this thread instead.
        workers ??= Array.from({ length: count }, () => new LeafWorker(spec, 'verify'))
        const w = workers[turn++ % workers.length]!
        const rows = unpackLeafPage(
          await w.call({
            kind: 'verify',
            ...wirePoint(from),
            limit,
            ...(upTo === undefined ? {} : { upTo: wirePoint(upTo) }),
            ...(tenantId === undefined ? {} : { tenantId }),
          }),
        )
        if (!fits(rows, from, limit, upTo)) throw new Error('the leaf worker sent another page')
        return rows
      } catch {
        await stop()
        return here(from, limit, upTo)
      }
    },
    close: stop,
  }
}
