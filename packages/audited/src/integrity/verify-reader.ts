/**
 * The feed as `verify` reads it: per event its id, tenant, feed point and leaf hash, with
 * the leaf built by the database from the stored columns (leaf-sql.ts) and hashed there
 * where it can — no event objects, one value per event. A leaf that differs from the sealed
 * one is decided by `Recheck` (the event read and hashed in full), so a database's escaping
 * or formatting can cost speed, never a false finding. Where the dialect builds no leaf,
 * the events are read whole and hashed here.
 *
 * Nothing stored can stop the run: a page the database cannot build leaves for (a BLOB
 * where SQLite expects text) is read whole; one that cannot be read whole either (the same
 * BLOB breaks SQLite's packed read) is read as ids, every event of it rechecked alone, and
 * an event that cannot be read at all is modified.
 */
import { sql } from 'kysely'
import type { Auditor } from '../audit/auditor.js'
import type { ChangeEvent } from '../audit/change-event.js'
import { GET_MANY_MAX } from '../audit/event-queries.js'
import type { AuditedDatabase } from '../db/open-database.js'
import { reopenSpec } from '../db/reopen.js'
import { FEED_START, type FeedPoint } from '../feed/feed-cursor.js'
import { FeedReader, PLACE_ROWS, pointOfRow, type RowShape, tenantOfRow } from '../feed/feed-reader.js'
import { leafSelectSql } from './leaf-sql.js'
import { nodeLeafHex, sha256TextHex } from './node-leaf.js'
import { ahead } from './read-ahead.js'
import { inThreadPages, type LeafRow, type PageReader, workerPages } from './verify-pages.js'

export type { LeafRow } from './verify-pages.js'

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

export class VerifyReader {
  readonly #reader: FeedReader
  readonly #tenantId: string | null | undefined
  readonly #shape: RowShape | undefined
  readonly #hashed: boolean
  readonly #pages: PageReader
  /** Pages read at once (see `LeafSql.readDepth`; two per worker thread). */
  readonly depth: number

  /** `threads`: leaf workers to read and hash the pages (none for a database only this
   * handle can open: SQLite in memory). */
  constructor(db: AuditedDatabase, tenantId: string | null | undefined, threads = 0) {
    const spec = threads > 0 ? reopenSpec(db) : undefined
    const here = (from: FeedPoint, limit: number, upTo?: FeedPoint) => this.page(from, limit, upTo)
    this.#pages = spec === undefined ? inThreadPages(here) : workerPages(spec, threads, tenantId, here)
    const depth = db.capabilities.leafSql?.readDepth ?? 1
    this.depth = spec === undefined ? depth : Math.max(depth, 2 * threads)
    this.#reader = new FeedReader({ readKysely: db.readKysely, dialect: db.capabilities })
    this.#tenantId = tenantId
    const leaf = leafSelectSql(db.capabilities)
    this.#hashed = leaf?.hashed ?? false
    this.#shape =
      leaf === undefined
        ? undefined
        : { name: 'verify-leaf', select: (d) => [...PLACE_ROWS.select(d), sql.raw(leaf.sql).as('leaf')] }
  }

  /**
   * The whole feed (the tenant's), page by page in feed order, with up to `depth` pages
   * read at once: each page's end is found first by its last key (an index read), so the
   * pages after it can be read meanwhile on other connections — the database's work of
   * building leaves is what limits a read on a server. Events up to a key that was final
   * when it was found are final, so a range read later holds exactly the same events.
   */
  async *pages(limit: number): AsyncGenerator<LeafRow[]> {
    const depth = this.depth
    const read = this.#pages.read
    let cursor = FEED_START
    if (depth <= 1) {
      // Reads in this process: one after the other, no end keys to find.
      for (;;) {
        const page = await read(cursor, limit)
        yield page
        if (page.length < limit) return
        cursor = page.at(-1)!.point
      }
    }
    let open = true
    const queue: Promise<LeafRow[]>[] = []
    for (;;) {
      while (open && queue.length < depth) {
        const end = await this.#lastKey(cursor, limit)
        if (end === undefined) {
          // Fewer than a page are final now: the rest is read as one page.
          queue.push(ahead(read(cursor, limit)))
          open = false
        } else {
          queue.push(ahead(read(cursor, limit, end)))
          cursor = end
        }
      }
      const next = queue.shift()
      if (next === undefined) return
      const page = await next
      yield page
      if (!open && queue.length === 0) {
        // The last page was full: events became final meanwhile; go on after it.
        if (page.length < limit) return
        cursor = page.at(-1)!.point
        open = true
      }
    }
  }

  /** Worker threads reading the pages now (0: this thread). */
  get threads(): number {
    return this.#pages.threads
  }

  /** Ends the workers (the reader still reads pages, on this thread). */
  close(): Promise<void> {
    return this.#pages.close()
  }

  /** The feed point of the `limit`-th event after `from`, or undefined when there are fewer. */
  async #lastKey(from: FeedPoint, limit: number): Promise<FeedPoint | undefined> {
    const [row] = await this.#reader.rowsAfter(from, 1, this.#filter(), PLACE_ROWS, { skip: limit - 1 })
    return row === undefined ? undefined : pointOfRow(row)
  }

  /** Up to `limit` events after `from` (up to `upTo` when given), in feed order. */
  async page(from: FeedPoint, limit: number, upTo?: FeedPoint): Promise<LeafRow[]> {
    const range = upTo === undefined ? {} : { upTo }
    if (this.#shape !== undefined) {
      try {
        return this.#rows(
          await this.#reader.rowsAfter(from, limit, this.#filter(), this.#shape, range),
          (r) => {
            const leaf = text(r.leaf) ?? ''
            return this.#hashed ? leaf : sha256TextHex(`\0${leaf}`)
          },
        )
      } catch {
        // Read whole below; a database that is down fails there too, and that throws.
      }
    }
    try {
      const events = await this.#reader.readAfter(from, limit, this.#filter(), range)
      return events.map(({ event, point }) => ({
        eventId: event.eventId,
        tenantId: event.tenantId,
        point,
        hex: nodeLeafHex(event),
      }))
    } catch (e) {
      if (this.#shape === undefined) throw e
      return this.#rows(
        await this.#reader.rowsAfter(from, limit, this.#filter(), PLACE_ROWS, range),
        () => '',
      )
    }
  }

  #filter() {
    return { tenantId: this.#tenantId }
  }

  #rows(rows: Record<string, unknown>[], hex: (r: Record<string, unknown>) => string): LeafRow[] {
    return rows.map((r) => {
      const point = pointOfRow(r)
      return { eventId: point.eventId, tenantId: tenantOfRow(r), point, hex: hex(r) }
    })
  }
}

/** One event whose leaf, as read, differed from its sealed leaf. */
interface Suspect {
  readonly eventId: string
  readonly expected: string
  /** Called when the full read confirms the difference. */
  readonly modified: () => void
}

/** At most this many events per full read. */
const BATCH = GET_MANY_MAX
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/

/** Reads suspects in full (as stored), in batches, and reports the ones that really differ. */
export class Recheck {
  readonly #auditor: Auditor
  #pending: Suspect[] = []
  count = 0

  constructor(auditor: Auditor) {
    this.#auditor = auditor
  }

  add(s: Suspect): void {
    this.#pending.push(s)
    this.count += 1
  }

  get size(): number {
    return this.#pending.length
  }

  async flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, BATCH)
      const hexById = new Map<string, string>()
      for (const e of await this.#read(batch.map((s) => s.eventId))) hexById.set(e.eventId, nodeLeafHex(e))
      for (const s of batch) if (hexById.get(s.eventId) !== s.expected) s.modified()
    }
  }

  /** The events that can be read, as stored: a batch at once, or one by one when one of
   * them cannot be (malformed JSON); an id that is not a ULID was rewritten (a sealed leaf
   * names one), and is left out. */
  async #read(ids: readonly string[]): Promise<ChangeEvent[]> {
    const valid = ids.filter((id) => ULID.test(id))
    try {
      return await this.#auditor.events.getMany(valid, { stored: true })
    } catch {
      const events: ChangeEvent[] = []
      for (const id of valid) {
        const e = await this.#auditor.events.get(id, { stored: true }).catch(() => undefined)
        if (e !== undefined) events.push(e)
      }
      return events
    }
  }
}
