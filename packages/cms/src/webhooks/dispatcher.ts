import type { KeyObject } from 'node:crypto'
import type { AuditedDatabase, Auditor, ChangeEvent } from 'audited'
import type { Kysely } from 'kysely'
import type { AttemptRecord, DeliveryRow, DeliveryStore } from './delivery-store.js'
import { type AttemptResult, sendWebhook } from './outbound.js'
import { deliveryBody } from './payload.js'
import { nextDelayMs } from './schedule.js'
import { signingSecrets } from './secrets.js'
import { webhookHeaders } from './signing.js'
import type { HostPolicy } from './ssrf.js'
import { WebhookHealth } from './webhook-health.js'

export interface DispatcherOptions {
  readonly policy: HostPolicy
  /** Delay before each attempt after the first (ms); its length is the number of attempts. */
  readonly schedule: readonly number[]
  /** Deliveries in flight at once (default 64). */
  readonly concurrency?: number
  /** A subscription failing this long without a success is disabled (default 5 days). */
  readonly disableAfterMs?: number
  /** Per-attempt timeout (default 15 s). */
  readonly timeoutMs?: number
  /** How often to look for due deliveries when nothing wakes the dispatcher (default 250 ms). */
  readonly pollMs?: number
  /** Also sign with this Ed25519 key (`v1a`; receivers verify with its `whpk_` public key). */
  readonly ed25519Key?: KeyObject
  readonly onAttempt?: (outcome: AttemptRecord['outcome']) => void
  /** A subscription was disabled (410, or failing for `disableAfterMs`). */
  readonly onDisabled?: (webhookId: string, tenantId: string, reason: string) => void
  readonly onError?: (error: unknown) => void
}

/** Most event ids one `events.getMany` takes. */
const EVENTS_PER_READ = 500

interface Target {
  readonly url: string
  readonly secrets: string[]
  readonly tenantId: string
}

/** Disables a subscription through the engine (an audited `update` by `system`). */
export type Disable = (webhookId: string, tenantId: string, reason: string) => Promise<void>

/**
 * Sends due deliveries: claims them in feed order (see `DeliveryStore.claim`), sends up to
 * `concurrency` at once, and stores each attempt with the delivery's next state: success;
 * a retry at the schedule's next delay (or the receiver's `Retry-After`, if longer); dead
 * after the last attempt; a `410` disables the subscription. Runs in every server process:
 * claims keep two processes from sending the same delivery.
 */
export class Dispatcher {
  readonly #db: AuditedDatabase
  readonly #auditor: Auditor
  readonly #store: DeliveryStore
  readonly #health: WebhookHealth
  readonly #o: Required<Omit<DispatcherOptions, 'onAttempt' | 'onDisabled' | 'onError' | 'ed25519Key'>> &
    Pick<DispatcherOptions, 'onAttempt' | 'onDisabled' | 'onError' | 'ed25519Key'>
  readonly #disable: Disable
  #inFlight = 0
  #stopped = false
  #wake: () => void = () => {}
  #finished: AttemptRecord[] = []
  #flushing: Promise<void> | undefined
  #flushTimer: NodeJS.Timeout | undefined
  #loop: Promise<void> | undefined
  #sweptAt = 0

  constructor(
    db: AuditedDatabase,
    auditor: Auditor,
    store: DeliveryStore,
    disable: Disable,
    options: DispatcherOptions,
  ) {
    this.#db = db
    this.#auditor = auditor
    this.#store = store
    this.#health = new WebhookHealth(db)
    this.#disable = disable
    this.#o = {
      concurrency: 64,
      disableAfterMs: 5 * 86_400_000,
      timeoutMs: 15_000,
      pollMs: 250,
      ...options,
    }
  }

  start(): void {
    this.#loop ??= this.#run()
  }

  /** New deliveries were queued: look at once. */
  kick(): void {
    this.#wake()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#wake()
    await this.#loop
    await this.#flushNow()
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        const now = Date.now()
        if (now - this.#sweptAt > 5000) {
          this.#sweptAt = now
          await this.#store.releaseExpired(now)
        }
        // Claims go in batches: a quarter of the slots free (or all idle), not one per reply.
        const room = this.#o.concurrency - this.#inFlight
        const worth = this.#inFlight === 0 || room >= Math.max(1, Math.floor(this.#o.concurrency / 4))
        const claimed = worth ? await this.#store.claim(room, this.#o.timeoutMs * 2 + 5000) : undefined
        if (claimed !== undefined && claimed.rows.length > 0) {
          await this.#send(claimed.token, claimed.rows)
          continue
        }
        await this.#sleep(this.#o.pollMs)
      } catch (e) {
        this.#o.onError?.(e)
        await this.#sleep(1000)
      }
    }
    while (this.#inFlight > 0) await this.#sleep(50)
    await this.#flushNow()
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped && this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      timer.unref()
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }

  /** Starts sending a claimed set (returns once they are under way). */
  async #send(token: string, rows: readonly DeliveryRow[]): Promise<void> {
    let targets: Map<string, Target>
    const events = new Map<string, ChangeEvent>()
    try {
      targets = await this.#targets([...new Set(rows.map((r) => r.webhookId))])
      // A claim may be wider than one `getMany` (500 ids): the events are read in chunks.
      const ids = [...new Set(rows.map((r) => r.eventId))]
      for (let i = 0; i < ids.length; i += EVENTS_PER_READ) {
        for (const e of await this.#auditor.events.getMany(ids.slice(i, i + EVENTS_PER_READ)))
          events.set(e.eventId, e)
      }
    } catch (e) {
      // Nothing was sent: give the claim back at once rather than when it expires.
      await this.#store.release(token).catch(() => {})
      throw e
    }
    for (const row of rows) {
      this.#inFlight += 1
      void this.#attempt(token, row, targets.get(row.webhookId), events.get(row.eventId))
        .then((record) => this.#done(record))
        .catch((e) => this.#o.onError?.(e))
        .finally(() => {
          this.#inFlight -= 1
          this.#wake()
        })
    }
  }

  async #attempt(
    token: string,
    row: DeliveryRow,
    target: Target | undefined,
    event: ChangeEvent | undefined,
  ): Promise<AttemptRecord> {
    const at = Date.now()
    const base = { token, deliveryId: row.id, webhookId: row.webhookId, tenantId: row.tenantId, at }
    if (target === undefined || event === undefined) {
      // The subscription was deleted, or the event is gone (purged): nothing to send.
      const error = target === undefined ? 'the webhook no longer exists' : 'the event no longer exists'
      return { ...base, outcome: 'dead', status: undefined, latencyMs: 0, error, next: this.#dead(row) }
    }
    const body = deliveryBody(event)
    const keys = this.#o.ed25519Key === undefined ? undefined : [this.#o.ed25519Key]
    const headers = webhookHeaders(event.eventId, Math.floor(at / 1000), body, target.secrets, keys)
    let result: AttemptResult
    try {
      result = await sendWebhook(
        { url: new URL(target.url), headers, body, timeoutMs: this.#o.timeoutMs },
        this.#o.policy,
      )
    } catch (e) {
      result = {
        outcome: 'retry',
        latencyMs: Date.now() - at,
        error: e instanceof Error ? e.message : String(e),
      }
    }
    const attempts = row.attempts + 1
    this.#o.onAttempt?.(result.outcome === 'success' ? 'success' : result.outcome)
    if (result.outcome === 'success') {
      return {
        ...base,
        outcome: 'success',
        status: result.status,
        latencyMs: result.latencyMs,
        error: undefined,
        next: { status: 'succeeded', attempts, nextAttemptAt: at },
      }
    }
    if (result.outcome === 'disable') {
      await this.#disableNow(row.webhookId, target.tenantId, 'The endpoint answered 410 Gone.')
      return {
        ...base,
        outcome: 'disable',
        status: result.status,
        latencyMs: result.latencyMs,
        error: result.error ?? 'gone',
        next: this.#dead(row),
      }
    }
    const delay = nextDelayMs(attempts, this.#o.schedule, result.retryAfterMs)
    const next =
      delay === undefined
        ? { status: 'dead' as const, attempts, nextAttemptAt: at }
        : { status: 'retrying' as const, attempts, nextAttemptAt: at + delay }
    return {
      ...base,
      outcome: delay === undefined ? 'dead' : result.outcome,
      status: result.status,
      latencyMs: result.latencyMs,
      error: result.error,
      next,
    }
  }

  #dead(row: DeliveryRow) {
    return { status: 'dead' as const, attempts: row.attempts + 1, nextAttemptAt: Date.now() }
  }

  async #disableNow(webhookId: string, tenantId: string, reason: string): Promise<void> {
    await this.#disable(webhookId, tenantId, reason)
    this.#o.onDisabled?.(webhookId, tenantId, reason)
  }

  /** Finished attempts are stored in batches: one transaction per 10 ms or 100 attempts. */
  #done(record: AttemptRecord): void {
    this.#finished.push(record)
    if (this.#finished.length >= 100) void this.#flushNow()
    else if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => void this.#flushNow(), 10)
      this.#flushTimer.unref()
    }
  }

  async #flushNow(): Promise<void> {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    const previous = this.#flushing
    const run = (async () => {
      await previous
      await this.#flush()
    })()
    this.#flushing = run
    await run
  }

  async #flush(): Promise<void> {
    const batch = this.#finished.splice(0)
    if (batch.length === 0) return
    try {
      await this.#store.finish(batch)
      await this.#noteHealth(batch)
    } catch (e) {
      // Not stored: the claims expire and the deliveries are sent again (at least once).
      this.#o.onError?.(e)
    }
  }

  /** A subscription with a success in the batch is healthy; one with only failures is
   * failing since its first failure, and disabled once that is `disableAfterMs` ago. */
  async #noteHealth(batch: readonly AttemptRecord[]): Promise<void> {
    const byHook = new Map<string, { ok: boolean; tenantId: string; at: number }>()
    for (const a of batch) {
      if (a.outcome === 'disable' || a.error?.startsWith('the webhook no longer exists')) continue
      const seen = byHook.get(a.webhookId)
      byHook.set(a.webhookId, {
        ok: (seen?.ok ?? false) || a.outcome === 'success',
        tenantId: a.tenantId,
        at: a.at,
      })
    }
    for (const [webhookId, h] of byHook) {
      const failingSince = await this.#health.note(webhookId, h.ok)
      if (failingSince !== undefined && h.at - failingSince >= this.#o.disableAfterMs) {
        await this.#disableNow(
          webhookId,
          h.tenantId,
          `Every delivery failed since ${new Date(failingSince).toISOString()}.`,
        )
      }
    }
  }

  /** URLs and signing secrets of the subscriptions (the old secret while it still signs). */
  async #targets(ids: readonly string[]): Promise<Map<string, Target>> {
    // biome-ignore lint/suspicious/noExplicitAny: the CMS's table, by name.
    const k = this.#db.kysely as Kysely<any>
    const rows = await k
      .selectFrom('webhooks')
      .select(['id', 'tenant_id', 'url', 'secret', 'previous_secret', 'previous_secret_until'])
      .where('id', 'in', [...ids])
      .execute()
    return new Map(
      rows.map(
        (r) =>
          [
            String(r.id),
            { url: String(r.url), secrets: signingSecrets(r), tenantId: String(r.tenant_id) },
          ] as const,
      ),
    )
  }
}
