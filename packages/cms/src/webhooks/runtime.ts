import { type AuditedDatabase, AuditedError, type Auditor, type Subscription, toHlc } from 'audited'
import type { Kysely } from 'kysely'
import { disableWebhook } from '../cms/webhook-operations.js'
import { DeliveryStore, type NewDelivery } from './delivery-store.js'
import { Dispatcher, type DispatcherOptions } from './dispatcher.js'
import { deliveriesFor, startFanOut } from './fan-out.js'
import { sendWebhook } from './outbound.js'
import { pingBody } from './payload.js'
import { signingSecrets } from './secrets.js'
import { webhookHeaders } from './signing.js'

/** Most events one replay may queue. */
export const MAX_REPLAY = 10_000

export interface PingResult {
  readonly delivered: boolean
  readonly status: number | null
  readonly latencyMs: number
  readonly error: string | null
}

/**
 * Webhook delivery of one server process: the fan-out consumer (events → deliveries), the
 * dispatcher (deliveries → HTTP), and what the operations routes need (replay, ping).
 */
export class WebhookRuntime {
  readonly store: DeliveryStore
  readonly options: DispatcherOptions
  readonly #db: AuditedDatabase
  readonly #auditor: Auditor
  readonly #dispatcher: Dispatcher
  #fanOut: Subscription | undefined

  constructor(db: AuditedDatabase, auditor: Auditor, options: DispatcherOptions) {
    this.#db = db
    this.#auditor = auditor
    this.options = options
    this.store = new DeliveryStore(db)
    this.#dispatcher = new Dispatcher(
      db,
      auditor,
      this.store,
      (id, tenantId, reason) => disableWebhook({ db, auditor }, tenantId, id, reason),
      options,
    )
  }

  /** Starts fan-out and delivery (the server does; tests of the routes alone need not). */
  start(): void {
    this.#fanOut ??= startFanOut(
      this.#auditor,
      this.#db,
      this.store,
      () => this.#dispatcher.kick(),
      (e) => this.options.onError?.(e),
    )
    this.#dispatcher.start()
  }

  async stop(): Promise<void> {
    await this.#fanOut?.stop()
    await this.#dispatcher.stop()
  }

  /** Queues the event again (`eventId`), or every matching event of a time range. */
  async replay(
    webhookId: string,
    tenantId: string,
    request: { eventId: string } | { from: string; to: string },
  ): Promise<number> {
    const hook = await this.#subscription(webhookId, tenantId)
    const tag = `r${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
    const one = { ...hook, patterns: ['*'] }
    let list: NewDelivery[]
    if ('eventId' in request) {
      const event = await this.#auditor.events.get(request.eventId, { tenantId })
      list = deliveriesFor(event, 0n, [one], tag)
    } else {
      // An inverted range selects nothing by construction: a mistake to report, not "0 queued".
      if (toHlc(request.from, 'start', 'from') > toHlc(request.to, 'end', 'to')) {
        throw new AuditedError('validation', 'to must not be before from.', { details: { field: 'to' } })
      }
      list = []
      let after: string | undefined
      for (;;) {
        const page = await this.#auditor.events.list({
          tenantId,
          from: request.from,
          to: request.to,
          after,
          limit: 1000,
        })
        for (const event of page.events) list.push(...deliveriesFor(event, 0n, [hook], tag))
        if (list.length > MAX_REPLAY) {
          throw new AuditedError(
            'validation',
            `The range holds more than ${MAX_REPLAY} matching events; replay a shorter one.`,
            {
              details: { field: 'from' },
            },
          )
        }
        if (!page.hasMore) break
        after = page.nextCursor ?? undefined
      }
    }
    const queued = await this.store.enqueue(list)
    if (queued > 0) this.#dispatcher.kick()
    return queued
  }

  /** Sends a signed `webhook.ping` now and answers what came back (nothing is stored). */
  async ping(webhookId: string, tenantId: string): Promise<PingResult> {
    const hook = await this.#subscription(webhookId, tenantId)
    const at = new Date()
    const body = pingBody(webhookId, at)
    const keys = this.options.ed25519Key === undefined ? undefined : [this.options.ed25519Key]
    const headers = webhookHeaders(
      `ping_${webhookId}_${at.getTime()}`,
      Math.floor(at.getTime() / 1000),
      body,
      hook.secrets,
      keys,
    )
    const r = await sendWebhook(
      {
        url: new URL(hook.url),
        headers,
        body,
        ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
      },
      this.options.policy,
    )
    return {
      delivered: r.outcome === 'success',
      status: r.status ?? null,
      latencyMs: Math.round(r.latencyMs),
      error: r.error ?? null,
    }
  }

  async #subscription(webhookId: string, tenantId: string) {
    // biome-ignore lint/suspicious/noExplicitAny: the CMS's table, by name.
    const k = this.#db.kysely as Kysely<any>
    const r = await k
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', webhookId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst()
    if (r === undefined) throw new AuditedError('not_found', 'No webhook with that id.')
    const events = typeof r.events === 'string' ? JSON.parse(r.events) : r.events
    const secrets = signingSecrets(r as { secret: unknown })
    return {
      id: webhookId,
      tenantId,
      url: String(r.url),
      patterns: Array.isArray(events) ? (events as string[]) : [],
      createdAt: 0,
      secrets,
    }
  }
}
