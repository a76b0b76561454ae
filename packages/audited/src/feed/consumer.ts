import { randomBytes } from 'node:crypto'
import { AuditedError } from '../core/errors.js'
import type { ConsumerStore } from './consumer-store.js'
import { encodeFeedCursor, type FeedPoint } from './feed-cursor.js'
import type { FeedEvent, FeedReader } from './feed-reader.js'

export interface ConsumerInfo {
  readonly consumer: string
  /** The lease's fencing token: a sink that remembers the highest token it saw can refuse
   * writes of an older holder. */
  readonly token: number
  /** 1 for the first try of this batch, then 2, 3, … */
  readonly attempt: number
  /** Aborts when the lease is lost or the subscription stops. */
  readonly signal: AbortSignal
}

/** Handles one batch, in feed order. Resolving acknowledges the whole batch. */
export type FeedHandler = (events: readonly FeedEvent[], info: ConsumerInfo) => void | Promise<void>

/** Handles one batch of a source's items (see `BatchSource`). */
export type BatchHandler<T> = (items: readonly T[], info: ConsumerInfo) => void | Promise<void>

/**
 * What a consumer reads: the next batch after `from` in feed order. `last` is the point of
 * the last event read (undefined: none yet), `items` what of it reaches the handler (a
 * filtered-out event still moves the offset).
 */
export interface BatchSource<T> {
  read(from: FeedPoint, limit: number): Promise<{ last: FeedPoint | undefined; items: T[] }>
}

export interface SubscribeOptions {
  /** Where a consumer seen for the first time starts: the start of the feed (default) or
   * its newest event (`now`: only later events). */
  readonly from?: 'start' | 'now'
  /** Events per handler call, 1 to 1000 (default 100). */
  readonly batchSize?: number
  /** Only these events reach the handler (the offset still moves past the others). */
  readonly tenantId?: string | null
  readonly tables?: readonly string[]
  readonly actions?: readonly string[]
  /** Tries of one batch before the consumer parks (default 8). */
  readonly maxAttempts?: number
  /** First retry delay (ms, default 200), doubled each time up to 30 s, with jitter. */
  readonly backoffMs?: number
  /** A parked consumer tries its batch again after this long (ms, default 60 000). */
  readonly parkMs?: number
  /** Lease length (ms, default 3000): a killed holder is replaced within about this long. */
  readonly leaseMs?: number
  /** How often to look for new events when nothing wakes the consumer (ms, default 50):
   * commits of this process wake it at once; other processes' are seen within this. */
  readonly pollMs?: number
  /** Each failure and each park (default: a process warning). */
  readonly onError?: (error: unknown, info: { consumer: string; attempt: number; parked: boolean }) => void
}

export type ConsumerState = 'starting' | 'standby' | 'idle' | 'busy' | 'retrying' | 'parked' | 'stopped'

export interface ConsumerStatus {
  readonly name: string
  readonly state: ConsumerState
  readonly position: string | undefined
  readonly attempts: number
  readonly lastError: string | undefined
  readonly token: number | undefined
  readonly handled: number
  readonly parks: number
}

const positiveInt = (v: unknown, fallback: number, max: number, field: string): number => {
  const n = v ?? fallback
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > max) {
    throw new AuditedError('validation', `${field} must be an integer from 1 to ${max}.`, {
      details: { field },
    })
  }
  return n as number
}

/** What a consumer starting "from now" reports when an open transaction outlasted its wait. */
const heldBack = (ms: number) =>
  new AuditedError(
    'unavailable',
    `A transaction open for more than ${ms} ms holds the feed back: this consumer starts at the last final event, so events committed since that transaction began may reach it.`,
    { details: { reason: 'feed_held_back' } },
  )

/** The events themselves, filtered by `options`, as `Feed.subscribe` hands them out. */
export function eventSource(reader: FeedReader, options: SubscribeOptions): BatchSource<FeedEvent> {
  const tables = options.tables === undefined ? undefined : new Set(options.tables)
  const actions = options.actions === undefined ? undefined : new Set(options.actions)
  const tenant = options.tenantId
  return {
    async read(from, limit) {
      const rows = await reader.readAfter(from, limit)
      const items: FeedEvent[] = []
      for (const { event: e, point } of rows)
        if (
          (tenant === undefined || e.tenantId === tenant) &&
          (tables === undefined || tables.has(e.table)) &&
          (actions === undefined || actions.has(e.action))
        )
          items.push({ ...e, cursor: encodeFeedCursor(point), position: point.position.toString() })
      return { last: rows.at(-1)?.point, items }
    },
  }
}

/** One durable consumer running in this process (see `Feed.subscribe`). */
export class Consumer<T = FeedEvent> {
  readonly name: string
  readonly #handler: BatchHandler<T>
  readonly #source: BatchSource<T>
  readonly #reader: FeedReader
  readonly #store: ConsumerStore
  readonly #onCommit: (callback: () => void) => () => void
  /** How many commits this process has signalled (to not miss one between a read and a wait). */
  readonly #commits: () => number
  /** Resolves the current sleep early (stop, resume). */
  #kick: () => void = () => {}
  readonly #owner: string
  readonly #o: Required<Omit<SubscribeOptions, 'tenantId' | 'tables' | 'actions' | 'onError'>>
  readonly #onError: NonNullable<SubscribeOptions['onError']>
  #state: ConsumerState = 'starting'
  #stopped = false
  #token: number | undefined
  #position: FeedPoint | undefined
  #attempts = 0
  #lastError: string | undefined
  #handled = 0
  #parks = 0
  #abort = new AbortController()
  #renewTimer: NodeJS.Timeout | undefined
  readonly done: Promise<void>
  readonly ready: Promise<void>
  #setReady: () => void = () => {}

  constructor(
    name: string,
    handler: BatchHandler<T>,
    options: SubscribeOptions,
    deps: {
      source: BatchSource<T>
      reader: FeedReader
      store: ConsumerStore
      onCommit: (callback: () => void) => () => void
      commits: () => number
      nodeId: string
    },
  ) {
    if (typeof name !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(name)) {
      throw new AuditedError('validation', 'A consumer name is 1 to 128 letters, digits, or . _ : -', {
        details: { field: 'name' },
      })
    }
    if (typeof handler !== 'function')
      throw new AuditedError('validation', 'subscribe takes a handler function.')
    this.name = name
    this.#handler = handler
    this.#source = deps.source
    this.#reader = deps.reader
    this.#store = deps.store
    this.#onCommit = deps.onCommit
    this.#commits = deps.commits
    this.#owner = `${deps.nodeId}:${randomBytes(6).toString('hex')}`
    this.#o = {
      from: options.from === 'now' ? 'now' : 'start',
      batchSize: positiveInt(options.batchSize, 100, 1000, 'batchSize'),
      maxAttempts: positiveInt(options.maxAttempts, 8, 1000, 'maxAttempts'),
      backoffMs: positiveInt(options.backoffMs, 200, 3_600_000, 'backoffMs'),
      parkMs: positiveInt(options.parkMs, 60_000, 86_400_000, 'parkMs'),
      leaseMs: positiveInt(options.leaseMs, 3000, 600_000, 'leaseMs'),
      pollMs: positiveInt(options.pollMs, 50, 60_000, 'pollMs'),
    }
    if (options.from !== undefined && options.from !== 'start' && options.from !== 'now') {
      throw new AuditedError('validation', "from must be 'start' or 'now'.", { details: { field: 'from' } })
    }
    this.#onError =
      options.onError ??
      ((error, info) =>
        process.emitWarning(
          `audited: consumer ${info.consumer} ${info.parked ? 'parked after' : 'failed on'} attempt ${info.attempt}: ${String(error)}`,
        ))
    this.ready = new Promise<void>((resolve) => {
      this.#setReady = resolve
    })
    this.done = this.#run()
  }

  status(): ConsumerStatus {
    return {
      name: this.name,
      state: this.#state,
      position: this.#position === undefined ? undefined : encodeFeedCursor(this.#position),
      attempts: this.#attempts,
      lastError: this.#lastError,
      token: this.#token,
      handled: this.#handled,
      parks: this.#parks,
    }
  }

  /** Stops after the batch in hand (its handler is awaited) and gives the lease up. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#abort.abort()
    this.#kick()
    await this.done
  }

  /** Ends a park (or a retry wait) now: the batch is tried again at once. */
  resume(): void {
    this.#attempts = 0
    this.#kick()
  }

  /** Waits `ms`, or less when stopped or resumed — or, with `wake`, at this process's next commit. */
  #sleep(ms: number, wake = false): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    return new Promise<void>((resolve) => {
      let unsubscribe = () => {}
      const done = () => {
        clearTimeout(timer)
        unsubscribe()
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      this.#kick = done
      if (wake) unsubscribe = this.#onCommit(done)
    })
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#store.ensure(this.name, () =>
          this.#o.from === 'now'
            ? this.#reader
                .nowPoint(
                  undefined,
                  () => this.#stopped,
                  (ms) => this.#report(heldBack(ms), 0, false),
                )
                .then((point) => {
                  // Stopped while waiting: store no offset (the point may be early).
                  if (this.#stopped) throw new Error('stopped')
                  return point
                })
            : Promise.resolve({ position: -1n, eventId: '' }),
        )
        break
      } catch (e) {
        if (this.#stopped) break
        this.#report(e, 0, false)
        await this.#sleep(1000)
      }
    }
    this.#setReady()
    while (!this.#stopped) {
      try {
        if (this.#token === undefined && !(await this.#takeLease())) {
          this.#state = 'standby'
          await this.#sleep(Math.max(100, Math.floor(this.#o.leaseMs / 6)))
          continue
        }
        await this.#step()
      } catch (e) {
        // The database failed (not the handler): try again shortly, keeping the lease.
        if (this.#stopped) break
        this.#report(e, this.#attempts, false)
        await this.#sleep(Math.min(this.#o.leaseMs, 1000))
      }
    }
    this.#state = 'stopped'
    this.#stopRenewing()
    const token = this.#token
    this.#token = undefined
    if (token !== undefined) await this.#store.release(this.name, token).catch(() => {})
  }

  async #takeLease(): Promise<boolean> {
    const lease = await this.#store.acquire(this.name, this.#owner, this.#o.leaseMs)
    if (lease === undefined) return false
    this.#token = lease.token
    this.#position = lease.position
    this.#attempts = lease.attempts
    this.#abort = new AbortController()
    this.#stopRenewing()
    this.#renewTimer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.#o.leaseMs / 3)))
    this.#renewTimer.unref()
    return true
  }

  async #renew(): Promise<void> {
    const token = this.#token
    if (token === undefined) return
    const kept = await this.#store.renew(this.name, token, this.#o.leaseMs).catch(() => true)
    if (!kept && this.#token === token) this.#loseLease()
  }

  #loseLease(): void {
    this.#token = undefined
    this.#stopRenewing()
    this.#abort.abort()
  }

  #stopRenewing(): void {
    if (this.#renewTimer !== undefined) clearInterval(this.#renewTimer)
    this.#renewTimer = undefined
  }

  /** Reads one batch and hands it over (retrying, then parking, on failure). */
  async #step(): Promise<void> {
    const from = this.#position!
    const seen = this.#commits()
    const { last, items: batch } = await this.#source.read(from, this.#o.batchSize)
    if (last === undefined) {
      this.#state = 'idle'
      // A commit signalled while the read ran may not be in what it saw: read again at once.
      if (this.#commits() === seen) await this.#sleep(this.#o.pollMs, true)
      return
    }
    const token = this.#token!
    if (batch.length > 0) {
      this.#state = this.#attempts > 0 ? 'retrying' : 'busy'
      try {
        await this.#handler(batch, {
          consumer: this.name,
          token,
          attempt: this.#attempts + 1,
          signal: this.#abort.signal,
        })
      } catch (e) {
        await this.#failed(e, token)
        return
      }
    }
    if (this.#token !== token) return // lost the lease meanwhile: the new holder redoes it
    if (!(await this.#store.advance(this.name, token, last))) {
      this.#loseLease()
      return
    }
    this.#position = last
    this.#attempts = 0
    this.#lastError = undefined
    this.#handled += batch.length
  }

  async #failed(error: unknown, token: number): Promise<void> {
    this.#attempts += 1
    this.#lastError = error instanceof Error ? error.message : String(error)
    const parked = this.#attempts >= this.#o.maxAttempts
    this.#report(error, this.#attempts, parked)
    if (!(await this.#store.fail(this.name, token, this.#attempts, parked, this.#lastError))) {
      this.#loseLease()
      return
    }
    if (parked) {
      this.#parks += 1
      this.#state = 'parked'
      await this.#sleep(this.#o.parkMs)
      this.#attempts = 0 // a new round of tries
      return
    }
    this.#state = 'retrying'
    const base = Math.min(30_000, this.#o.backoffMs * 2 ** (this.#attempts - 1))
    await this.#sleep(Math.round(base * (0.8 + Math.random() * 0.4)))
  }

  #report(error: unknown, attempt: number, parked: boolean): void {
    try {
      this.#onError(error, { consumer: this.name, attempt, parked })
    } catch {
      // a failing reporter must not stop the consumer
    }
  }
}
