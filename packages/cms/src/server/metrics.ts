import type { ChangeEvent, CommitStats, Dialect, Feed, HlcClock, PoolStats } from 'audited'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * Prometheus metrics of one server: requests, latencies, audited writes, pool usage,
 * rate-limit rejections. Each app has its own registry (tests build many apps).
 */
export class ServerMetrics {
  readonly registry = new Registry()
  readonly requests = new Counter({
    name: 'audited_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  })
  readonly latency = new Histogram({
    name: 'audited_http_request_duration_seconds',
    help: 'HTTP request latency by method and route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  })
  readonly writes = new Counter({
    name: 'audited_writes_total',
    help: 'Committed audited writes (change events) by table and action.',
    labelNames: ['table', 'action'] as const,
    registers: [this.registry],
  })
  readonly webhookAttempts = new Counter({
    name: 'audited_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome (success, retry, failure, disable, dead).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly webhooksDisabled = new Counter({
    name: 'audited_webhooks_disabled_total',
    help: 'Webhook subscriptions switched off by delivery (410, or failing for days).',
    registers: [this.registry],
  })
  readonly natsPublished = new Counter({
    name: 'audited_nats_published_total',
    help: 'Change events JetStream acknowledged (NATS_URL); duplicate="true": it already had them (a retried batch).',
    labelNames: ['duplicate'] as const,
    registers: [this.registry],
  })
  readonly natsFailures = new Counter({
    name: 'audited_nats_publish_failures_total',
    help: 'Change event publishes to NATS JetStream that failed (their batch is retried).',
    registers: [this.registry],
  })
  readonly rateLimited = new Counter({
    name: 'audited_rate_limited_total',
    help: 'Requests rejected by a tenant limit or quota.',
    registers: [this.registry],
  })

  constructor(poolStats: () => PoolStats, commitStats?: () => CommitStats) {
    const pool = (name: string, help: string, pick: (s: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(poolStats()))
        },
      })
    pool('audited_db_pool_connections', 'Database connections open (SQLite: 1).', (s) => s.total)
    pool('audited_db_pool_idle', 'Database connections idle.', (s) => s.idle)
    pool('audited_db_pool_waiting', 'Callers waiting for a database connection.', (s) => s.waiting)
    if (commitStats !== undefined) {
      // Where transactions share COMMITs (SQLite group commit): both totals, so that
      // transactions ÷ commits is the group size.
      const total = (name: string, help: string, pick: (s: CommitStats) => number) => {
        let seen = 0
        new Counter({
          name,
          help,
          registers: [this.registry],
          collect() {
            const now = pick(commitStats())
            if (now > seen) this.inc(now - seen)
            seen = now
          },
        })
      }
      total(
        'audited_db_committed_transactions_total',
        'Engine transactions committed.',
        (s) => s.transactions,
      )
      total(
        'audited_db_commits_total',
        'COMMIT statements that carried them (group commit).',
        (s) => s.commits,
      )
    }
  }

  #watchedClock: HlcClock | undefined

  /** Exposes `audited_hlc_skew_refusals_total`: HLCs the auditor's clock refused because
   * they were too far ahead (a node whose clock runs fast). Once per metrics object. */
  watchClock(clock: HlcClock): void {
    if (this.#watchedClock !== undefined) return
    this.#watchedClock = clock
    let seen = 0
    new Counter({
      name: 'audited_hlc_skew_refusals_total',
      help: 'HLC values refused as too far ahead of this clock (observe and receive).',
      registers: [this.registry],
      collect() {
        const now = clock.skewRefusals
        if (now > seen) this.inc(now - seen)
        seen = now
      },
    })
  }

  #watchedStreams = false

  /** Exposes the live event streams: open now, and clients cut for not keeping up. */
  watchStreams(stats: () => { streams: number; slowDisconnects: number }): void {
    if (this.#watchedStreams) return
    this.#watchedStreams = true
    new Gauge({
      name: 'audited_event_streams',
      help: 'Open live event streams (GET /audit/stream).',
      registers: [this.registry],
      collect() {
        this.set(stats().streams)
      },
    })
    let seen = 0
    new Counter({
      name: 'audited_event_stream_slow_disconnects_total',
      help: 'Event stream clients disconnected for not keeping up.',
      registers: [this.registry],
      collect() {
        const now = stats().slowDisconnects
        if (now > seen) this.inc(now - seen)
        seen = now
      },
    })
  }

  /** Metrics over a database's pool (and its commit groups, where it has them). */
  static of(capabilities: Dialect): ServerMetrics {
    const { commitStats } = capabilities
    return new ServerMetrics(
      () => capabilities.poolStats(),
      commitStats === undefined ? undefined : () => commitStats.call(capabilities),
    )
  }

  /** For the NATS publisher: what JetStream acknowledged, and what failed. */
  readonly natsCounts = {
    published: (events: number, duplicates: number): void => {
      if (events > duplicates) this.natsPublished.inc({ duplicate: 'false' }, events - duplicates)
      if (duplicates > 0) this.natsPublished.inc({ duplicate: 'true' }, duplicates)
    },
    failed: (events: number): void => this.natsFailures.inc(events),
  }

  /** For the auditor's `committed` hook: counts the events this process committed. */
  readonly recordEvents = (events: readonly ChangeEvent[]): void => {
    for (const event of events) this.writes.inc({ table: event.table, action: event.action })
  }

  readonly webhookAttempt = (outcome: string): void => {
    this.webhookAttempts.inc({ outcome })
  }

  readonly webhookDisabled = (): void => {
    this.webhooksDisabled.inc()
  }

  #watchedFeed: Feed | undefined

  /** Exposes the feed's consumers (lag in events and seconds, parked) and its holdback,
   * read at each scrape (`feed.stats()`: one small query per consumer). */
  watchFeed(feed: Feed): void {
    if (this.#watchedFeed !== undefined) return
    this.#watchedFeed = feed
    // A database that does not answer must not fail the whole scrape: the feed gauges are
    // then left out (no stale values), and every other metric is still served.
    let last: Promise<Awaited<ReturnType<Feed['stats']>> | undefined> | undefined
    const stats = () => {
      last ??= feed
        .stats()
        .catch(() => undefined)
        .finally(() => {
          last = undefined
        })
      return last
    }
    const perConsumer = (
      name: string,
      help: string,
      pick: (c: Awaited<ReturnType<Feed['stats']>>['consumers'][number]) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['consumer'] as const,
        registers: [this.registry],
        async collect() {
          this.reset()
          for (const c of (await stats())?.consumers ?? []) this.set({ consumer: c.name }, pick(c))
        },
      })
    perConsumer(
      'audited_feed_consumer_lag_events',
      'Committed events a consumer has not acknowledged (up to 10,000).',
      (c) => c.lagEvents,
    )
    perConsumer(
      'audited_feed_consumer_lag_seconds',
      'How long the oldest unacknowledged event has waited.',
      (c) => c.lagMs / 1000,
    )
    perConsumer(
      'audited_feed_consumer_parked',
      '1 while a consumer is parked after repeated failures.',
      (c) => (c.state === 'parked' ? 1 : 0),
    )
    new Gauge({
      name: 'audited_feed_holdback_seconds',
      help: 'Age of the oldest open transaction holding the feed back (PostgreSQL; 0 elsewhere).',
      registers: [this.registry],
      async collect() {
        this.reset()
        const s = await stats()
        if (s !== undefined) this.set(s.holdbackMs / 1000)
      },
    })
  }
}
