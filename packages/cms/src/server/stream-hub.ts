import type { ServerResponse } from 'node:http'
import type { Feed, FeedPage } from 'audited'
import { AuditedError } from 'audited'
import type { FastifyBaseLogger } from 'fastify'
import { LiveStream, type StreamEnd, type StreamFilter } from './live-stream.js'
import { loggedError } from './log-lines.js'

/** The live stream's settings (`buildApp`'s `live`; serve() reads SSE_HEARTBEAT_MS). */
export interface LiveOptions {
  /** A `: heartbeat` comment this often (ms, default 15 000). */
  readonly heartbeatMs?: number
  /** While idle, other processes' commits are looked for this often (ms, default 100). */
  readonly pollMs?: number
  /** A client with more than this many bytes waiting unsent is disconnected (default 1 MiB). */
  readonly maxBufferedBytes?: number
  /** The reconnection delay told to clients (`retry:`, ms, default 1000). */
  readonly retryMs?: number
}

export const LIVE_DEFAULTS: Required<LiveOptions> = {
  heartbeatMs: 15_000,
  pollMs: 100,
  maxBufferedBytes: 1024 * 1024,
  retryMs: 1000,
}

/** Events per feed read. */
const PAGE = 100
/** After a failed read (the database is failing) the next one waits this long. */
const ERROR_PAUSE_MS = 1000
/** On shutdown, a stream whose client does not take its end is cut after this. */
const CLOSE_GRACE_MS = 1000

/** Every caught-up stream of one tenant, fed by one feed reader at `head`. */
interface TenantFollower {
  readonly tenantId: string
  /** Every event of the tenant up to here was handed to the streams. */
  head: string
  readonly streams: Set<LiveStream>
}

/**
 * The live streams of one server. A stream that is behind reads the feed on its own (its
 * filters pushed into the read) until it reaches its tenant's follower; from then on the
 * follower's reads feed it, so a thousand idle streams of a tenant cost one poll, not a
 * thousand. Reads hold a database connection only while they run.
 *
 * Exactness: a stream's `cursor` is the place up to which every matching event was written.
 * It joins a follower only at or after the follower's `head`, and a follower hands it only
 * events after its `cursor`; a read that comes back short has seen every event up to the
 * follower's `head` taken before it (the feed never shows an event behind one it showed).
 */
export class StreamHub {
  readonly #feed: Feed
  readonly #log: FastifyBaseLogger
  readonly #options: Required<LiveOptions>
  readonly #followers = new Map<string, TenantFollower>()
  readonly #streams = new Set<LiveStream>()
  readonly #loops = new Set<Promise<void>>()
  #closed = false
  #wake: () => void = () => {}
  readonly #closedSignal = new Promise<void>((resolve) => {
    this.#wake = resolve
  })
  #heartbeat: NodeJS.Timeout | undefined
  #slowDisconnects = 0

  constructor(feed: Feed, log: FastifyBaseLogger, options: LiveOptions = {}) {
    this.#feed = feed
    this.#log = log
    this.#options = { ...LIVE_DEFAULTS, ...options }
  }

  /** Open streams, tenant followers, and clients disconnected for not keeping up. */
  stats(): { streams: number; followers: number; slowDisconnects: number } {
    return {
      streams: this.#streams.size,
      followers: this.#followers.size,
      slowDisconnects: this.#slowDisconnects,
    }
  }

  /**
   * A stream of the tenant's matching events after `start` on `res`. Its first read runs
   * before `begin` (which starts the response), so a filter the feed refuses is an error
   * answer, not a stream cut off after its headers.
   */
  async open(
    tenantId: string,
    filter: StreamFilter,
    start: string,
    res: ServerResponse,
    begin: () => void,
  ): Promise<void> {
    this.#assertOpen()
    const stream = new LiveStream(tenantId, filter, start, res, this.#options.maxBufferedBytes, this.#ended)
    const { page, known } = await this.#read(stream)
    this.#assertOpen()
    begin()
    // The start as the first id (a message with data: clients ignore an id alone), so a
    // client that reconnects before any change resumes here, not at a later newest event.
    stream.write(`retry: ${this.#options.retryMs}\nid: ${start}\nevent: ready\ndata: {}\n\n`, false)
    if (stream.ended) return
    this.#streams.add(stream)
    this.#startHeartbeat()
    if (!this.#settle(stream, page, known)) this.#run(this.#catchUp(stream))
  }

  /** Ends every stream (cleanly; a client that does not read is cut after a grace) and
   * waits for the readers to stop. */
  async close(): Promise<void> {
    this.#closed = true
    this.#wake()
    clearInterval(this.#heartbeat)
    for (const stream of this.#streams) stream.close(CLOSE_GRACE_MS)
    await Promise.all(this.#loops)
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new AuditedError('unavailable', 'The server is shutting down.', {
        details: { reason: 'shutting_down' },
        retryAfterSeconds: 1,
      })
  }

  readonly #ended = (stream: LiveStream, why: StreamEnd): void => {
    this.#streams.delete(stream)
    this.#followers.get(stream.tenantId)?.streams.delete(stream)
    if (why === 'slow') {
      this.#slowDisconnects++
      this.#log.info({ tenantId: stream.tenantId }, 'event stream client too slow: disconnected')
    }
  }

  #run(loop: Promise<void>): void {
    this.#loops.add(loop)
    void loop.finally(() => this.#loops.delete(loop))
  }

  #startHeartbeat(): void {
    if (this.#heartbeat !== undefined) return
    this.#heartbeat = setInterval(() => {
      for (const stream of this.#streams) stream.write(': heartbeat\n\n', true)
    }, this.#options.heartbeatMs)
    this.#heartbeat.unref()
  }

  /** Resolves after `ms`, at this process's next commit (when `commit`), or at close. */
  #pause(ms: number, commit: boolean): Promise<void> {
    if (this.#closed) return Promise.resolve()
    if (commit) return Promise.race([this.#feed.nextCommit(ms), this.#closedSignal])
    return Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), this.#closedSignal])
  }

  /** Reads on its own until the stream joins its tenant's follower. */
  async #catchUp(stream: LiveStream): Promise<void> {
    while (!stream.ended && !this.#closed) {
      try {
        const f = this.#followers.get(stream.tenantId)
        if (f !== undefined && this.#feed.compare(f.head, stream.cursor) <= 0) {
          this.#join(f, stream)
          return
        }
        const { page, known } = await this.#read(stream)
        if (this.#settle(stream, page, known)) return
        // Backpressure: the next page once this one left (a client that stops reading
        // is cut by the next bounded write, a heartbeat at the latest).
        await Promise.race([stream.drained(), this.#closedSignal])
      } catch (error) {
        this.#log.warn({ err: loggedError(error) }, 'event stream read failed; retrying')
        await this.#pause(ERROR_PAUSE_MS, false)
      }
    }
  }

  /** The stream's next page (its filters pushed into the read), and a place every event
   * up to which that page has seen when it comes back short: taken before the read. */
  async #read(stream: LiveStream): Promise<{ page: FeedPage; known: string }> {
    const { tenantId, filter } = stream
    const known = this.#followers.get(tenantId)?.head ?? (await this.#feed.head())
    const page = await this.#feed.read({
      after: stream.cursor,
      limit: PAGE,
      tenantId,
      ...(filter.table === undefined ? {} : { tables: [filter.table] }),
      ...(filter.action === undefined ? {} : { actions: [filter.action] }),
    })
    return { page, known }
  }

  /** Writes a page the stream read on its own; true once it then joined the follower
   * (made when the tenant has none). */
  #settle(stream: LiveStream, page: FeedPage, known: string): boolean {
    for (const event of page.events) stream.deliver(event, false)
    if (page.events.length === PAGE || stream.ended || this.#closed) return false
    if (this.#feed.compare(known, stream.cursor) > 0) stream.cursor = known
    const tenantId = stream.tenantId
    const now = this.#followers.get(tenantId)
    if (now !== undefined) {
      if (this.#feed.compare(now.head, stream.cursor) > 0) return false
      this.#join(now, stream)
      return true
    }
    const follower: TenantFollower = { tenantId, head: stream.cursor, streams: new Set() }
    this.#followers.set(tenantId, follower)
    this.#join(follower, stream)
    this.#run(this.#follow(follower))
    return true
  }

  /** `stream.cursor` is at or after `follower.head` (checked by the caller). */
  #join(follower: TenantFollower, stream: LiveStream): void {
    stream.live = this.#feed.compare(follower.head, stream.cursor) === 0
    follower.streams.add(stream)
  }

  /** The tenant's follower: reads every event of the tenant and hands each to its streams;
   * stops when it has none. */
  async #follow(f: TenantFollower): Promise<void> {
    while (!this.#closed && f.streams.size > 0) {
      let read = 0
      try {
        const page = await this.#feed.read({ after: f.head, limit: PAGE, tenantId: f.tenantId })
        read = page.events.length
        for (const event of page.events) {
          f.head = event.cursor
          for (const stream of f.streams) {
            if (!stream.live) {
              if (this.#feed.compare(event.cursor, stream.cursor) <= 0) continue
              stream.live = true
            }
            stream.deliver(event, true)
          }
        }
      } catch (error) {
        this.#log.warn({ err: loggedError(error) }, 'event stream read failed; retrying')
        await this.#pause(ERROR_PAUSE_MS, false)
        continue
      }
      if (read < PAGE) await this.#pause(this.#options.pollMs, true)
    }
    if (this.#followers.get(f.tenantId) === f) this.#followers.delete(f.tenantId)
  }
}
