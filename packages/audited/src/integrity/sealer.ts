import type { Kysely } from 'kysely'
import type { Auditor } from '../audit/auditor.js'
import { AuditedError } from '../core/errors.js'
import type { AuditedDatabase } from '../db/open-database.js'
import { reopenSpec } from '../db/reopen.js'
import type { ConsumerInfo } from '../feed/consumer.js'
import type { Subscription } from '../feed/feed.js'
import { decodeFeedCursor, FEED_START, isAfter } from '../feed/feed-cursor.js'
import { FeedReader } from '../feed/feed-reader.js'
import { type CheckpointSigner, signCheckpoint } from './checkpoints.js'
import type { SealItem } from './leaf-batch.js'
import { LeafCache } from './leaf-cache.js'
import { inThreadLeafSource, type LeafSource, WORKER_BY_DEFAULT, workerLeafSource } from './leaf-source.js'
import { leafWorkerHasCore } from './leaf-worker-client.js'
import {
  type LogState,
  LogStore,
  logKeyOf,
  NODE_STRIDE,
  type StoredCheckpoint,
  type StoredLeaf,
} from './log-store.js'
import { CompactRange } from './merkle.js'
import { nodeHasher } from './node-crypto.js'
import { nodeToHex as toHex } from './node-leaf.js'

export interface SealerOptions {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
  /** Signs the checkpoints (see `signerFromKey`). */
  readonly signer: CheckpointSigner
  /** A log gets a checkpoint once this long has passed since its last one (ms, default
   * 1000) or once `checkpointEvents` leaves are unsigned, whichever comes first. */
  readonly checkpointMs?: number
  readonly checkpointEvents?: number
  /** After a small batch (under 100 events), wait this long (ms, default 100) before sealing
   * it, so that the commits arriving meanwhile are sealed together in the next batch: each
   * batch is a transaction (on SQLite behind the single writer) and a feed read, so at one
   * writer sealing every commit alone cost a third of the write throughput in the bench.
   * A `flush` cuts the wait short. 0: seal at once. */
  readonly lingerMs?: number
  /** Read and hash the events in a worker thread on a connection of its own. The worker
   * moves most of the sealer's CPU off the writers' event loop, which pays only when it
   * gets a core of its own; by default it runs when it does (see leafWorkerHasCore: SQLite
   * on 2 or more cores, a server on this machine on 3 or more, a server elsewhere on 2 or
   * more), from the built package only (not when its TypeScript sources run: see
   * WORKER_BY_DEFAULT). An in-memory SQLite database, which nothing else can open, is
   * always sealed on this thread. */
  readonly worker?: boolean
  /** The durable consumer's name (default `audited.sealer`). */
  readonly consumer?: string
  /** Each new checkpoint, after it committed: publish it to witnesses (a file, a
   * webhook, NATS). A failure is reported to `onError` and does not stop sealing. */
  readonly onCheckpoint?: (checkpoint: SealedCheckpoint) => void | Promise<void>
  readonly onError?: (error: unknown) => void
}

export interface SealedCheckpoint extends StoredCheckpoint {
  readonly tenantId: string | null
}

export interface Sealer {
  readonly subscription: Subscription
  /** Whether events are read and hashed in a worker thread (see `worker`). */
  readonly threaded: boolean
  /** Waits until every event committed before the call is sealed, then checkpoints every
   * log with unsigned leaves. */
  flush(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

// biome-ignore lint/suspicious/noExplicitAny: the sealer addresses its own tables by name.
type Db = Kysely<any>

/** Batches smaller than this wait `lingerMs` first; a backlog is sealed without waiting. */
const LINGER_BELOW = 100

/** Resolves after `ms`, or at once when either signal aborts (the sealer stops, or a
 * `flush` wants the batch sealed now). Listeners go from both signals when it resolves:
 * both live as long as the sealer. */
function linger(ms: number, signals: readonly AbortSignal[]): Promise<void> {
  if (signals.some((s) => s.aborted)) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      for (const s of signals) s.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    for (const s of signals) s.addEventListener('abort', done)
  })
}

/**
 * Starts the sealer: a durable feed consumer (one process at a time, off the write path)
 * that appends every event to its tenant's Merkle log in feed order and signs checkpoints.
 * Each batch is one transaction, fenced by the consumer's lease token, and skips events a
 * previous holder already sealed, so a crash or a lost lease never seals twice.
 */
export function startSealer(options: SealerOptions): Sealer {
  const { db, auditor, signer } = options
  const everyMs = options.checkpointMs ?? 1000
  const everyEvents = options.checkpointEvents ?? 1000
  const name = options.consumer ?? 'audited.sealer'
  const lingerMs = options.lingerMs ?? 100
  if (!(Number.isFinite(lingerMs) && lingerMs >= 0 && lingerMs <= 10_000))
    throw new AuditedError('validation', 'lingerMs must be a number of milliseconds from 0 to 10000.', {
      details: { field: 'lingerMs' },
    })
  const store = new LogStore(db.kysely, db.capabilities)
  const report = options.onError ?? ((e: unknown) => process.emitWarning(`audited sealer: ${String(e)}`))
  /** Logs with leaves not yet in a checkpoint. */
  const dirty = new Set<string>()

  const fence = async (tx: Db, token: number) => {
    let q = tx.selectFrom('audited_consumers').select('lease_token').where('name', '=', name)
    if (db.capabilities.supportsRowLocks) q = q.forUpdate()
    const row = await q.executeTakeFirst()
    if (row === undefined || Number(row.lease_token) !== token) throw new Error('the sealer lost its lease')
  }

  const checkpoint = async (
    tx: Db,
    s: LogState,
    root: Uint8Array,
    now: number,
  ): Promise<SealedCheckpoint> => {
    const createdAt = new Date(now).toISOString()
    const rootHash = toHex(root)
    const note = signCheckpoint(signer, {
      tenantId: s.tenantId,
      treeSize: s.size,
      rootHash,
      time: createdAt,
      previousSize: s.checkpointSize,
    })
    const c = { logKey: s.logKey, tenantId: s.tenantId, treeSize: s.size, rootHash, createdAt, note }
    await store.insertCheckpoint(tx, c)
    return c
  }

  const publish = async (made: readonly SealedCheckpoint[]) => {
    for (const c of made) {
      try {
        await options.onCheckpoint?.(c)
      } catch (e) {
        report(e)
      }
    }
  }

  /** Aborted while a `flush` waits: a lingering batch is sealed at once, and no other
   * lingers until the flush returns. */
  let hurry = new AbortController()
  let flushing = 0

  const seal = async (events: readonly SealItem[], info: ConsumerInfo) => {
    if (lingerMs > 0 && events.length < LINGER_BELOW) await linger(lingerMs, [info.signal, hurry.signal])
    const byLog = new Map<string, SealItem[]>()
    for (const e of events) {
      const key = logKeyOf(e.tenantId)
      const list = byLog.get(key)
      if (list === undefined) byLog.set(key, [e])
      else list.push(e)
    }
    const made: SealedCheckpoint[] = []
    await db.kysely.transaction().execute(async (tx) => {
      await fence(tx, info.token)
      const now = Date.now()
      for (const [logKey, list] of byLog) {
        const found = await store.state(tx, logKey, true)
        let s: LogState = found ?? {
          logKey,
          tenantId: list[0]!.tenantId,
          size: 0,
          frontier: [],
          last: FEED_START,
          checkpointSize: 0,
          checkpointAt: 0,
        }
        const fresh = list.filter((e) => isAfter(e.point, s.last))
        if (fresh.length === 0) continue
        const range = new CompactRange(nodeHasher, s.size, s.frontier)
        const leaves: StoredLeaf[] = []
        const nodes: { logKey: string; height: number; index: number; hash: string }[] = []
        for (const e of fresh) {
          const hash = e.leafHash
          leaves.push({ logKey, leafIndex: range.size, eventId: e.point.eventId, leafHash: toHex(hash) })
          range.append(hash, (height, index, h) => {
            if (height % NODE_STRIDE === 0) nodes.push({ logKey, height, index, hash: toHex(h) })
          })
        }
        await store.insertLeaves(tx, leaves)
        await store.insertNodes(tx, nodes)
        s = { ...s, size: range.size, frontier: range.hashes, last: fresh.at(-1)!.point }
        if (s.size - s.checkpointSize >= everyEvents || now - s.checkpointAt >= everyMs) {
          made.push(await checkpoint(tx, s, range.root(), now))
          s = { ...s, checkpointSize: s.size, checkpointAt: now }
          dirty.delete(logKey)
        } else dirty.add(logKey)
        await store.saveState(tx, s, found === undefined)
      }
    })
    await publish(made)
  }

  const reopen = reopenSpec(db)
  const spec =
    (options.worker ?? (WORKER_BY_DEFAULT && reopen !== undefined && leafWorkerHasCore(reopen.url)))
      ? reopen
      : undefined
  const reader = new FeedReader({ readKysely: db.readKysely, dialect: db.capabilities })
  // Sealing on this thread: this process's own events are hashed as they are stored
  // (leaf-cache.ts), so their batches read only the events' places.
  let untap: (() => void) | undefined
  const here = () => {
    const cache = new LeafCache()
    untap?.()
    untap = auditor.feed.tapCommitted(cache)
    return inThreadLeafSource(reader, cache, (ids) => auditor.events.getMany(ids, { stored: true }))
  }
  const source: LeafSource = spec === undefined ? here() : workerLeafSource(spec, here, report)
  let subscription: ReturnType<typeof auditor.feed.subscribeSource>
  try {
    subscription = auditor.feed.subscribeSource(
      name,
      source,
      seal,
      { from: 'start', batchSize: 1000, onError: (e) => report(e) },
      // However the consumer ends (stop, or the auditor's close), the worker and the tap go
      // with it.
      () => {
        untap?.()
        void source.close().catch(report)
      },
    )
  } catch (error) {
    untap?.()
    throw error
  }

  /** Checkpoints the dirty logs whose interval has passed (all of them when `force`). */
  const tick = async (force: boolean) => {
    const token = subscription.status().token
    if (token === undefined || dirty.size === 0) return
    const made: SealedCheckpoint[] = []
    await db.kysely.transaction().execute(async (tx) => {
      await fence(tx, token)
      const now = Date.now()
      for (const logKey of [...dirty]) {
        const s = await store.state(tx, logKey, true)
        if (s === undefined || s.size === s.checkpointSize) {
          dirty.delete(logKey)
          continue
        }
        if (!force && now - s.checkpointAt < everyMs) continue
        made.push(await checkpoint(tx, s, new CompactRange(nodeHasher, s.size, s.frontier).root(), now))
        await store.saveState(tx, { ...s, checkpointSize: s.size, checkpointAt: now }, false)
        dirty.delete(logKey)
      }
    })
    await publish(made)
  }

  let ticking: Promise<void> = Promise.resolve()
  const runTick = (force: boolean) => {
    ticking = ticking.then(() => tick(force)).catch(report)
    return ticking
  }
  const timer = setInterval(() => void runTick(false), Math.max(50, Math.floor(everyMs / 4)))
  timer.unref()

  /** Waits until every event visible now is sealed, then checkpoints every dirty log. */
  const flushNow = async (timeoutMs: number) => {
    await subscription.ready
    const deadline = Date.now() + timeoutMs
    const late = () => new Error('the sealer did not catch up in time')
    // Every event committed before the call must be final (on PostgreSQL an open
    // transaction elsewhere can hold the feed back) and then sealed.
    const { point: head, final } = await reader.finalHead(timeoutMs)
    if (!final) throw late()
    // The consumer's position is memory: looked at every millisecond (a flush ends a bench
    // round, so waits add to its time).
    for (;;) {
      const at = subscription.status().position
      if (at !== undefined && !isAfter(head, decodeFeedCursor(at))) break
      if (Date.now() > deadline) throw late()
      await new Promise((r) => setTimeout(r, 1))
    }
    await runTick(true)
  }

  return {
    subscription,
    get threaded() {
      return source.threaded
    },
    async flush(timeoutMs = 30_000) {
      flushing += 1
      hurry.abort()
      try {
        await flushNow(timeoutMs)
      } finally {
        flushing -= 1
        if (flushing === 0) hurry = new AbortController()
      }
    },
    async stop() {
      clearInterval(timer)
      await subscription.stop()
      await ticking
      await source.close()
    },
  }
}
