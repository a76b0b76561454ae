/**
 * Where the sealer's batches come from: a leaf worker (a worker thread with its own
 * connection, see leaf-worker.ts) when the database can be opened twice, else this thread's
 * feed reader. Both give the same items: the worker only moves the decoding and hashing
 * (profiled at about three quarters of the sealer's CPU per event) off the writers' event
 * loop. A worker that fails or exits is started again at the next read.
 */
import type { ChangeEvent } from '../audit/change-event.js'
import { GET_MANY_MAX } from '../audit/event-queries.js'
import type { ReopenSpec } from '../db/reopen.js'
import type { BatchSource } from '../feed/consumer.js'
import { type FeedPoint, isAfter } from '../feed/feed-cursor.js'
import { type FeedReader, PLACE_ROWS, pointOfRow, tenantOfRow } from '../feed/feed-reader.js'
import { type LeafBatchMessage, type SealItem, sealItems, unpackLeafBatch } from './leaf-batch.js'
import type { LeafCache } from './leaf-cache.js'
import { LeafWorker, wirePoint } from './leaf-worker-client.js'
import { nodeLeafHash } from './node-leaf.js'

export { WORKER_BY_DEFAULT } from './leaf-worker-client.js'

export interface LeafSource extends BatchSource<SealItem> {
  /** Whether batches are hashed in a worker thread. */
  readonly threaded: boolean
  close(): Promise<void>
}

/** Stored events by id (`auditor.events.getMany(ids, { stored: true })`). */
export type StoredEvents = (ids: readonly string[]) => Promise<readonly ChangeEvent[]>

/**
 * This thread's reader, hashing here. With `cache` (this process's committed events,
 * hashed as stored): a batch reads only the events' places, and the events not cached are
 * read by id (`stored`) and hashed; a batch mostly of others' events, or one whose event was
 * gone meanwhile, is read whole.
 */
export function inThreadLeafSource(reader: FeedReader, cache?: LeafCache, stored?: StoredEvents): LeafSource {
  const whole = async (from: FeedPoint, limit: number) => {
    const items = sealItems(await reader.readAfter(from, limit))
    return { last: items.at(-1)?.point, items }
  }
  return {
    threaded: false,
    async read(from, limit) {
      if (cache === undefined || stored === undefined) return whole(from, limit)
      const rows = await reader.rowsAfter(from, limit, {}, PLACE_ROWS)
      const items = rows.map((r) => {
        const point = pointOfRow(r)
        return { point, tenantId: tenantOfRow(r), leafHash: cache.take(point.eventId) }
      })
      const missing = items.filter((i) => i.leafHash === undefined).map((i) => i.point.eventId)
      // Mostly others' events (another process's, or a backlog from before the sealer
      // started): one range read costs less than reading them by id.
      if (missing.length > items.length / 2) return whole(from, limit)
      const read = new Map<string, Uint8Array>()
      for (let at = 0; at < missing.length; at += GET_MANY_MAX)
        for (const e of await stored(missing.slice(at, at + GET_MANY_MAX)))
          read.set(e.eventId, nodeLeafHash(e))
      const out: SealItem[] = []
      for (const i of items) {
        const leafHash = i.leafHash ?? read.get(i.point.eventId)
        if (leafHash === undefined) return whole(from, limit)
        out.push({ point: i.point, tenantId: i.tenantId, leafHash })
      }
      return { last: out.at(-1)?.point, items: out }
    },
    async close() {},
  }
}

/** A batch of `limit` events after `from`, read and hashed by worker `w`. */
const readBatch = async (w: LeafWorker, from: FeedPoint, limit: number) =>
  (await w.call({ kind: 'seal', ...wirePoint(from), limit })) as LeafBatchMessage

/**
 * A leaf worker on its own connection to the database `spec` opens. A worker that fails
 * before it ever answered (it cannot start here: a bundle without its file, a permission
 * model without workers, a connection limit) hands sealing to `fallback` for good and says
 * so through `report`; one that fails later is started again at the next read.
 */
export function workerLeafSource(
  spec: ReopenSpec,
  fallback: () => LeafSource,
  report: (error: unknown) => void,
): LeafSource {
  let worker: LeafWorker | undefined
  let answered = false
  let instead: LeafSource | undefined
  /** The next batch, asked for as soon as one came back: the worker reads and hashes it
   * while this thread writes the one in hand. Used only when the consumer then asks for
   * exactly that place and it holds events (the feed never adds an event before a place
   * a reader has seen, so an early read is a true prefix of a later one). */
  let ahead: { from: FeedPoint; limit: number; batch: Promise<LeafBatchMessage | undefined> } | undefined
  const readAhead = (w: LeafWorker, from: FeedPoint, limit: number) => {
    ahead = { from, limit, batch: readBatch(w, from, limit).catch(() => undefined) }
  }
  const take = async (from: FeedPoint, limit: number): Promise<LeafBatchMessage | undefined> => {
    const a = ahead
    ahead = undefined
    if (a === undefined || a.limit !== limit || isAfter(a.from, from) || isAfter(from, a.from))
      return undefined
    const batch = await a.batch
    return batch !== undefined && batch.positions.length > 0 ? batch : undefined
  }
  return {
    get threaded() {
      return instead === undefined
    },
    async read(from: FeedPoint, limit: number) {
      if (instead !== undefined) return instead.read(from, limit)
      let w: LeafWorker
      let batch: LeafBatchMessage
      try {
        // Started inside the try: a process that may not start threads (Node's permission
        // model) throws here, and seals on this thread.
        if (worker === undefined || worker.ended) worker = new LeafWorker(spec, 'the sealer')
        w = worker
        batch = (await take(from, limit)) ?? (await readBatch(w, from, limit))
      } catch (e) {
        if (answered) throw e
        void worker?.close()
        worker = undefined
        instead = fallback()
        report(
          new Error(
            `the sealer's leaf worker could not run (${(e as Error).message}); sealing on this thread`,
          ),
        )
        return instead.read(from, limit)
      }
      answered = true
      const items = unpackLeafBatch(batch)
      const last = items.at(-1)?.point
      if (last !== undefined && !w.ended) readAhead(w, last, limit)
      return { last, items }
    },
    async close() {
      const w = worker
      worker = undefined
      ahead = undefined
      await w?.close()
    },
  }
}
