import type { PendingEvent } from '../audit/change-event.js'
import type { EngineCore } from '../audit/engine-core.js'
import { AuditedError } from '../core/errors.js'
import {
  type BatchHandler,
  type BatchSource,
  Consumer,
  type ConsumerStatus,
  eventSource,
  type FeedHandler,
  type SubscribeOptions,
} from './consumer.js'
import { type ConsumerRow, ConsumerStore } from './consumer-store.js'
import { decodeFeedCursor, encodeFeedCursor, isAfter } from './feed-cursor.js'
import { type FeedPage, type FeedQuery, FeedReader } from './feed-reader.js'

/** A running durable consumer of this process. */
export interface Subscription {
  readonly name: string
  /** Resolves once the consumer's offset row exists (for `from: 'now'`: every event
   * committed after this is handled, and none committed before `subscribe` was called,
   * unless a transaction stayed open for 5 s; see FeedReader.nowPoint); never rejects
   * (failures are retried and reported). */
  readonly ready: Promise<void>
  status(): ConsumerStatus
  /** Ends a park now (the failed batch is tried again). */
  resume(): void
  /** Stops after the batch in hand and gives the lease up to another process. */
  stop(): Promise<void>
}

/** One consumer as stored and, where it runs here, as it runs. */
export interface ConsumerStats {
  readonly name: string
  readonly position: string
  readonly state: 'running' | 'parked'
  readonly leaseOwner: string | null
  readonly leaseExpiresAt: string | null
  readonly attempts: number
  readonly lastError: string | null
  /** Committed events it has not acknowledged (counted up to 10 000). */
  readonly lagEvents: number
  /** How long the oldest of them has waited (ms; 0 when none). */
  readonly lagMs: number
}

export interface FeedStats {
  readonly consumers: ConsumerStats[]
  /** Age of the oldest open transaction holding the feed back (ms; 0 where none can). */
  readonly holdbackMs: number
}

/** @internal See `Feed.tapCommitted`. */
export interface CommitTap<T> {
  prepare(events: readonly PendingEvent[]): T
  committed(prepared: T): void
}

/** @internal The taps' preparations of one transaction's events. */
export type PreparedTaps = readonly (readonly [CommitTap<unknown>, unknown])[]
const NO_TAPS: PreparedTaps = []

/**
 * The change feed of one auditor: `read` is the never-skip reader; `subscribe` runs a
 * durable consumer (offset in the database, one process at a time, retries, parking).
 */
export class Feed {
  readonly #reader: FeedReader
  readonly #store: ConsumerStore
  readonly #core: EngineCore
  readonly #consumers = new Map<string, Consumer<unknown>>()
  readonly #waiting = new Set<() => void>()
  readonly #taps = new Set<CommitTap<unknown>>()
  #commits = 0
  #closed = false

  constructor(core: EngineCore) {
    this.#core = core
    this.#reader = new FeedReader(core)
    this.#store = new ConsumerStore(core.kysely, core.dialect)
  }

  /**
   * The next committed events after `after`, in feed order, and the cursor to continue.
   *
   * @example
   * let { events, cursor } = await auditor.feed.read({ limit: 500 })
   * ;({ events, cursor } = await auditor.feed.read({ after: cursor }))
   */
  read(query?: FeedQuery): Promise<FeedPage> {
    return this.#reader.read(query)
  }

  /** The cursor of the newest final event (read from here to get only later ones). On
   * PostgreSQL an event committed moments ago can still be held back behind an older open
   * transaction, and is then read after this cursor. */
  async head(): Promise<string> {
    return encodeFeedCursor(await this.#reader.head())
  }

  /**
   * The cursor to follow "from now": read after it and you get every event committed after
   * this call and none committed before it. Where the feed holds back (PostgreSQL) it waits
   * until the events committed before the call are final, up to `maxWaitMs` (5 s); past
   * that (a transaction left open that long) it is the final head, so nothing is skipped.
   */
  async now(maxWaitMs?: number): Promise<string> {
    return encodeFeedCursor(await this.#reader.nowPoint(maxWaitMs))
  }

  /**
   * Orders two cursors in feed order: negative when `a` is before `b`, 0 when they are the
   * same place, positive when `a` is after `b`. `validation` (details.field `field`) for a
   * malformed one. For live followers that merge readers at different places (SSE).
   */
  compare(a: string, b: string, field = 'after'): number {
    const pa = decodeFeedCursor(a, field)
    const pb = decodeFeedCursor(b, field)
    return isAfter(pa, pb) ? 1 : isAfter(pb, pa) ? -1 : 0
  }

  /**
   * Runs `handler` for every committed event, in feed order, at least once: the offset
   * (stored in `audited_consumers` under `name`) moves only after the handler resolves.
   * With several processes on one database each consumer runs in one of them at a time.
   */
  subscribe(name: string, handler: FeedHandler, options: SubscribeOptions = {}): Subscription {
    return this.subscribeSource(name, eventSource(this.#reader, options), handler, options)
  }

  /**
   * @internal A durable consumer of another reading of the feed (the sealer's leaf hashes,
   * computed off the event loop): `source` gives each batch in feed order; the options'
   * filters are the source's business.
   */
  subscribeSource<T>(
    name: string,
    source: BatchSource<T>,
    handler: BatchHandler<T>,
    options: SubscribeOptions = {},
    onDone?: () => void,
  ): Subscription {
    if (this.#closed)
      throw new AuditedError('unavailable', 'The auditor is closed.', {
        details: { reason: 'shutting_down' },
      })
    if (this.#consumers.has(name)) {
      throw new AuditedError('validation', `A consumer named ${name} already runs in this process.`, {
        details: { field: 'name' },
      })
    }
    const consumer = new Consumer<T>(name, handler, options, {
      source,
      reader: this.#reader,
      store: this.#store,
      nodeId: this.#core.nodeId,
      commits: () => this.#commits,
      onCommit: (callback) => {
        this.#waiting.add(callback)
        return () => this.#waiting.delete(callback)
      },
    })
    this.#consumers.set(name, consumer as Consumer<unknown>)
    void consumer.done.finally(() => {
      if (this.#consumers.get(name) === (consumer as Consumer<unknown>)) this.#consumers.delete(name)
      onDone?.()
    })
    return {
      name,
      ready: consumer.ready,
      status: () => consumer.status(),
      resume: () => consumer.resume(),
      stop: () => consumer.stop(),
    }
  }

  /**
   * Resolves at this process's next commit of events, or after `timeoutMs` (other
   * processes' commits are not signalled: poll with a timeout). For live followers (SSE).
   */
  nextCommit(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#waiting.delete(done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, timeoutMs))
      timer.unref()
      this.#waiting.add(done)
    })
  }

  /**
   * @internal A tap on this process's writes, for an in-process consumer (the sealer's
   * leaf cache): `prepare` runs synchronously as each transaction's events are serialised
   * for their INSERT — so it sees exactly the values stored — and `committed` gets what it
   * returned once the COMMIT succeeded (never for a transaction that did not commit).
   * Returns the function that removes the tap.
   */
  tapCommitted<T>(tap: CommitTap<T>): () => void {
    this.#taps.add(tap as CommitTap<unknown>)
    return () => this.#taps.delete(tap as CommitTap<unknown>)
  }

  /** What each tap makes of `events` as they are serialised (see `tapCommitted`). */
  prepareTaps(events: readonly PendingEvent[]): PreparedTaps {
    if (this.#taps.size === 0 || events.length === 0) return NO_TAPS
    const out: [CommitTap<unknown>, unknown][] = []
    for (const tap of this.#taps) {
      try {
        out.push([tap, tap.prepare(events)])
      } catch {
        // a tap must not fail a write
      }
    }
    return out
  }

  /** This process committed events (`prepared` by `prepareTaps`): hand them to the taps,
   * wake its consumers. */
  notify(prepared: PreparedTaps = NO_TAPS): void {
    for (const [tap, value] of prepared) {
      try {
        tap.committed(value)
      } catch {
        // a tap must not fail a committed write
      }
    }
    this.#commits += 1
    if (this.#waiting.size === 0) return
    const callbacks = [...this.#waiting]
    this.#waiting.clear()
    for (const callback of callbacks) callback()
  }

  /** Every stored consumer with its lag, and what holds the feed back. */
  async stats(): Promise<FeedStats> {
    const rows = await this.#store.list()
    const now = Date.now()
    const consumers = await Promise.all(rows.map(async (row) => this.#statsOf(row, now)))
    return { consumers, holdbackMs: await this.#reader.holdbackMs() }
  }

  async #statsOf(row: ConsumerRow, now: number): Promise<ConsumerStats> {
    const lag = await this.#reader.lag(row.position)
    return {
      name: row.name,
      position: encodeFeedCursor(row.position),
      state: row.state,
      leaseOwner: row.leaseUntil > now ? row.leaseOwner : null,
      leaseExpiresAt: row.leaseUntil > now ? new Date(row.leaseUntil).toISOString() : null,
      attempts: row.attempts,
      lastError: row.lastError,
      lagEvents: lag.events,
      lagMs: lag.oldestWallTime === undefined ? 0 : Math.max(0, now - Date.parse(lag.oldestWallTime)),
    }
  }

  /** This process's running consumers. */
  running(): ConsumerStatus[] {
    return [...this.#consumers.values()].map((c) => c.status())
  }

  /** Stops every consumer of this process (each finishes its batch and gives its lease up). */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#consumers.values()].map((c) => c.stop()))
  }
}
