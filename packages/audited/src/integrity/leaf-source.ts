/**
 * Where the sealer's batches come from: a leaf worker (a worker thread with its own
 * connection, see leaf-worker.ts) when the database can be opened twice, else this thread's
 * feed reader. Both give the same items: the worker only moves the decoding and hashing
 * (profiled at about three quarters of the sealer's CPU per event) off the writers' event
 * loop. A worker that fails or exits is started again at the next read.
 */
import { Worker } from 'node:worker_threads'
import type { ReopenSpec } from '../db/reopen.js'
import type { BatchSource } from '../feed/consumer.js'
import { type FeedPoint, isAfter } from '../feed/feed-cursor.js'
import type { FeedReader } from '../feed/feed-reader.js'
import { type LeafBatchMessage, type SealItem, sealItems, unpackLeafBatch } from './leaf-batch.js'

export interface LeafSource extends BatchSource<SealItem> {
  /** Whether batches are hashed in a worker thread. */
  readonly threaded: boolean
  close(): Promise<void>
}

/** This thread's reader, hashing here. */
export function inThreadLeafSource(reader: FeedReader): LeafSource {
  return {
    threaded: false,
    async read(from, limit) {
      const rows = await reader.readAfter(from, limit)
      return { last: rows.at(-1)?.point, items: sealItems(rows) }
    },
    async close() {},
  }
}

/** The worker's file beside this one: .js when built; when the TypeScript sources run (the
 * project's tests, under tsx), a worker thread does not inherit tsx's loader, so it
 * registers it before importing the source. */
const SOURCES = import.meta.url.endsWith('.ts')

/**
 * Whether a sealer uses a worker unless told: yes as built JavaScript; not from the
 * TypeScript sources (this project's tests and benchmarks under tsx), where the worker must
 * load tsx, whose module hooks Node 20 runs on one thread for the whole process: while a
 * worker compiled its modules the main thread's own imports waited (a test server answered
 * a request after its SIGTERM as if none had come).
 */
export const WORKER_BY_DEFAULT = !SOURCES
const WORKER_FILE = new URL(SOURCES ? './leaf-worker.ts' : './leaf-worker.js', import.meta.url)
const newWorker = (workerData: unknown): Worker =>
  SOURCES
    ? new Worker(
        `import('tsx/esm/api').then((t) => t.register()).then(() => import(${JSON.stringify(WORKER_FILE.href)}))`,
        { eval: true, workerData },
      )
    : new Worker(WORKER_FILE, { workerData })
const CLOSE_WAIT_MS = 5000
/** A read the worker has not answered in this long ends it (and fails the read). */
const READ_TIMEOUT_MS = 60_000

type Reply = { id: number; batch: LeafBatchMessage } | { id: number; error: string }

const isReply = (m: unknown): m is Reply =>
  typeof m === 'object' &&
  m !== null &&
  typeof (m as { id?: unknown }).id === 'number' &&
  (typeof (m as { error?: unknown }).error === 'string' ||
    typeof (m as { batch?: unknown }).batch === 'object')

/** Only plain settings cross to the worker (a function would not clone): one connection,
 * the caller's timeouts, SQLite's busy timeout and synchronous mode. */
function workerOptions(options: object): object {
  const o = options as {
    pool?: { acquireTimeoutMs?: unknown; statementTimeoutMs?: unknown }
    sqlite?: { busyTimeoutMs?: unknown; synchronous?: unknown }
  }
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  const pool = {
    max: 1,
    acquireTimeoutMs: num(o.pool?.acquireTimeoutMs),
    statementTimeoutMs: num(o.pool?.statementTimeoutMs),
  }
  const sqlite = {
    busyTimeoutMs: num(o.sqlite?.busyTimeoutMs),
    synchronous: o.sqlite?.synchronous === 'full' ? 'full' : undefined,
  }
  const plain = (x: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined))
  return { pool: plain(pool), sqlite: plain(sqlite) }
}

/** One worker thread and the reads it owes. */
class LeafWorker {
  readonly #worker: Worker
  readonly #pending = new Map<
    number,
    { resolve: (b: LeafBatchMessage) => void; reject: (e: Error) => void }
  >()
  #nextId = 0
  #ended = false

  constructor(spec: ReopenSpec) {
    this.#worker = newWorker({ url: spec.url, options: workerOptions(spec.options) })
    const w = this.#worker
    w.unref()
    w.on('message', (m: unknown) => {
      if (!isReply(m)) return this.#end(new Error('the leaf worker sent a malformed reply'))
      const p = this.#pending.get(m.id)
      if (p === undefined) return
      this.#pending.delete(m.id)
      if ('error' in m) p.reject(new Error(`sealer leaf worker: ${m.error}`))
      else p.resolve(m.batch)
    })
    w.on('messageerror', (e) => this.#end(e))
    w.on('error', (e) => this.#end(e))
    w.on('exit', (code) => this.#end(new Error(`the sealer's leaf worker exited (code ${code})`)))
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Fails every read it owes and stops the thread. */
  #end(e: unknown): void {
    this.#ended = true
    for (const p of this.#pending.values()) p.reject(e instanceof Error ? e : new Error(String(e)))
    this.#pending.clear()
    void this.#worker.terminate()
  }

  async read(from: FeedPoint, limit: number): Promise<LeafBatchMessage> {
    const w = this.#worker
    const id = this.#nextId++
    // Referenced only while it owes an answer: an idle sealer keeps no process alive.
    w.ref()
    let timer: NodeJS.Timeout | undefined
    try {
      return await new Promise<LeafBatchMessage>((resolve, reject) => {
        this.#pending.set(id, { resolve, reject })
        timer = setTimeout(
          () => this.#end(new Error(`the sealer's leaf worker did not answer in ${READ_TIMEOUT_MS} ms`)),
          READ_TIMEOUT_MS,
        )
        w.postMessage({ id, position: from.position.toString(), eventId: from.eventId, limit })
      })
    } finally {
      clearTimeout(timer)
      if (this.#pending.size === 0) w.unref()
    }
  }

  async close(): Promise<void> {
    if (this.#ended) return
    const w = this.#worker
    const exited = new Promise<void>((r) => w.once('exit', () => r()))
    w.ref()
    w.postMessage({ close: true })
    const timer = setTimeout(() => void w.terminate(), CLOSE_WAIT_MS)
    timer.unref()
    await exited
    clearTimeout(timer)
  }
}

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
    ahead = { from, limit, batch: w.read(from, limit).catch(() => undefined) }
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
      if (worker === undefined || worker.ended) worker = new LeafWorker(spec)
      const w = worker
      let batch: LeafBatchMessage
      try {
        batch = (await take(from, limit)) ?? (await w.read(from, limit))
      } catch (e) {
        if (answered) throw e
        void worker.close()
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
