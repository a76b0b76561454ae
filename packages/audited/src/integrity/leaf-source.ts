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
import type { FeedPoint } from '../feed/feed-cursor.js'
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
const WORKER_FILE = new URL(SOURCES ? './leaf-worker.ts' : './leaf-worker.js', import.meta.url)
const newWorker = (workerData: unknown): Worker =>
  SOURCES
    ? new Worker(
        `import('tsx/esm/api').then((t) => t.register()).then(() => import(${JSON.stringify(WORKER_FILE.href)}))`,
        { eval: true, workerData },
      )
    : new Worker(WORKER_FILE, { workerData })
const CLOSE_WAIT_MS = 5000

type Reply = { id: number; batch: LeafBatchMessage } | { id: number; error: string }

/** A leaf worker on its own connection to the database `spec` opens. */
export function workerLeafSource(spec: ReopenSpec): LeafSource {
  let worker: Worker | undefined
  const pending = new Map<number, { resolve: (b: LeafBatchMessage) => void; reject: (e: Error) => void }>()
  let nextId = 0
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e)
    pending.clear()
  }
  const start = (): Worker => {
    // Only the pool settings cross: one connection, the caller's timeouts.
    const o = spec.options as { pool?: { acquireTimeoutMs?: number; statementTimeoutMs?: number } }
    const w = newWorker({ url: spec.url, options: { ...spec.options, pool: { ...o.pool, max: 1 } } })
    w.unref()
    w.on('message', (m: Reply) => {
      const p = pending.get(m.id)
      if (p === undefined) return
      pending.delete(m.id)
      if ('error' in m) p.reject(new Error(`sealer leaf worker: ${m.error}`))
      else p.resolve(m.batch)
    })
    w.on('error', (e) => {
      if (worker === w) worker = undefined
      failAll(e instanceof Error ? e : new Error(String(e)))
    })
    w.on('exit', (code) => {
      if (worker === w) worker = undefined
      failAll(new Error(`the sealer's leaf worker exited (code ${code})`))
    })
    return w
  }
  return {
    threaded: true,
    async read(from: FeedPoint, limit: number) {
      worker ??= start()
      const id = nextId++
      const w = worker
      // Referenced only while it owes an answer: an idle sealer keeps no process alive.
      w.ref()
      const batch = await new Promise<LeafBatchMessage>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        w.postMessage({ id, position: from.position.toString(), eventId: from.eventId, limit })
      }).finally(() => {
        if (pending.size === 0) w.unref()
      })
      const items = unpackLeafBatch(batch)
      return { last: items.at(-1)?.point, items }
    },
    async close() {
      const w = worker
      worker = undefined
      if (w === undefined) return
      const exited = new Promise<void>((r) => w.once('exit', () => r()))
      w.ref()
      w.postMessage({ close: true })
      const timer = setTimeout(() => void w.terminate(), CLOSE_WAIT_MS)
      timer.unref()
      await exited
      clearTimeout(timer)
    },
  }
}
