/**
 * One leaf worker (leaf-worker.ts: a worker thread with its own connection, reading the
 * feed and hashing leaves) as this thread talks to it: requests by id, each answered once,
 * a timeout on every answer, and every request it owes failed when it errs or exits. The
 * sealer (leaf-source.ts) and `verify` (verify-pages.ts) use it.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { serverOnThisMachine } from '../db/dialects/connect.js'
import type { ReopenSpec } from '../db/reopen.js'
import type { FeedPoint } from '../feed/feed-cursor.js'

/** The worker's file beside this one: .js when built; when the TypeScript sources run (the
 * project's tests, under tsx), a worker thread does not inherit tsx's loader, so it
 * registers it before importing the source. */
const SOURCES = import.meta.url.endsWith('.ts')

/**
 * Whether the sealer and `verify` use workers unless told: yes as built JavaScript; not
 * from the TypeScript sources (this project's tests and benchmarks under tsx), where the
 * worker must load tsx, whose module hooks Node 20 runs on one thread for the whole process:
 * while a worker compiled its modules the main thread's own imports waited (a test server
 * answered a request after its SIGTERM as if none had come).
 */
export const WORKER_BY_DEFAULT = !SOURCES

/**
 * Whether a leaf worker for the sealer of the database at `url` would have a core of its
 * own: the writers' event loop takes one, and a database server on this machine another
 * (SQLite runs on the writers' thread). Without a spare core the worker only adds thread
 * switches and a connection: on this project's 2-core bench machine, PostgreSQL and
 * MariaDB local, writes with sealing on ran at 0.77–0.85 × off with the worker and
 * 0.81–0.89 × in-thread (three alternating rounds each, 16 writers).
 */
export function leafWorkerHasCore(url: string, cores = availableParallelism()): boolean {
  return cores > (serverOnThisMachine(url) ? 2 : 1)
}
const WORKER_FILE = new URL(SOURCES ? './leaf-worker.ts' : './leaf-worker.js', import.meta.url)
const newWorker = (workerData: unknown): Worker =>
  SOURCES
    ? new Worker(
        `import('tsx/esm/api').then((t) => t.register()).then(() => import(${JSON.stringify(WORKER_FILE.href)}))`,
        { eval: true, workerData },
      )
    : new Worker(WORKER_FILE, { workerData })
const CLOSE_WAIT_MS = 5000
/** A request the worker has not answered in this long ends it (and fails the request). */
const ANSWER_TIMEOUT_MS = 60_000

/** A feed point as it crosses to the worker (a bigint does not clone as text). */
export interface WirePoint {
  readonly position: string
  readonly eventId: string
}

export const wirePoint = (p: FeedPoint): WirePoint => ({
  position: p.position.toString(),
  eventId: p.eventId,
})

/** What the worker is asked (the events after the point): see leaf-worker.ts. */
export type LeafRequest = WirePoint &
  (
    | { readonly kind: 'seal'; readonly limit: number }
    | {
        readonly kind: 'verify'
        readonly limit: number
        readonly upTo?: WirePoint
        /** undefined: every tenant's events. */
        readonly tenantId?: string | null
      }
  )

type Reply = { id: number; result: unknown } | { id: number; error: string }

const isReply = (m: unknown): m is Reply =>
  typeof m === 'object' &&
  m !== null &&
  typeof (m as { id?: unknown }).id === 'number' &&
  (typeof (m as { error?: unknown }).error === 'string' ||
    typeof (m as { result?: unknown }).result === 'object')

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

/** One worker thread and the requests it owes. `name` says whose it is in errors. */
export class LeafWorker {
  readonly #worker: Worker
  readonly #name: string
  readonly #pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>()
  #nextId = 0
  #ended = false
  /** Set by `close`: the thread then stays referenced until it exited, or a caller waiting
   * on the close could see its process end first (nothing else may keep it alive). */
  #closing = false

  constructor(spec: ReopenSpec, name: string) {
    this.#name = name
    this.#worker = newWorker({ url: spec.url, options: workerOptions(spec.options) })
    const w = this.#worker
    w.unref()
    w.on('message', (m: unknown) => {
      if (!isReply(m)) return this.#end(new Error(`${name}: the leaf worker sent a malformed reply`))
      const p = this.#pending.get(m.id)
      if (p === undefined) return
      this.#pending.delete(m.id)
      if ('error' in m) p.reject(new Error(`${name} leaf worker: ${m.error}`))
      else p.resolve(m.result)
    })
    w.on('messageerror', (e) => this.#end(e))
    w.on('error', (e) => this.#end(e))
    w.on('exit', (code) => this.#end(new Error(`${name}: the leaf worker exited (code ${code})`)))
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Fails every request it owes and stops the thread. */
  #end(e: unknown): void {
    this.#ended = true
    for (const p of this.#pending.values()) p.reject(e instanceof Error ? e : new Error(String(e)))
    this.#pending.clear()
    void this.#worker.terminate()
  }

  /** The worker's answer to `request` (its shape is the caller's to check). */
  async call(request: LeafRequest): Promise<unknown> {
    const w = this.#worker
    if (this.#ended) throw new Error(`${this.#name}: the leaf worker has ended`)
    if (this.#closing) throw new Error(`${this.#name}: the leaf worker is closing`)
    const id = this.#nextId++
    // Referenced only while it owes an answer: an idle worker keeps no process alive.
    w.ref()
    let timer: NodeJS.Timeout | undefined
    try {
      return await new Promise<unknown>((resolve, reject) => {
        this.#pending.set(id, { resolve, reject })
        timer = setTimeout(
          () =>
            this.#end(new Error(`${this.#name}: the leaf worker did not answer in ${ANSWER_TIMEOUT_MS} ms`)),
          ANSWER_TIMEOUT_MS,
        )
        w.postMessage({ id, ...request })
      })
    } finally {
      clearTimeout(timer)
      if (this.#pending.size === 0 && !this.#closing) w.unref()
    }
  }

  async close(): Promise<void> {
    if (this.#ended) return
    this.#closing = true
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
