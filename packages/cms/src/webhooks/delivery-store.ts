import { type AuditedDatabase, createIdFactory } from 'audited'
import type { Kysely } from 'kysely'
import { purgeSubscriptionRecords } from './subscription-purge.js'

const ulid = createIdFactory()

export type DeliveryStatus = 'pending' | 'retrying' | 'delivering' | 'succeeded' | 'dead'
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'pending',
  'retrying',
  'delivering',
  'succeeded',
  'dead',
]

/** A delivery to create: one event for one subscription. */
export interface NewDelivery {
  readonly tenantId: string
  readonly webhookId: string
  readonly eventId: string
  readonly feedPos: bigint
  readonly type: string
  readonly recordKey: string
  /** Distinguishes a replay from the first delivery of the same event. */
  readonly replay?: string
}

export interface DeliveryRow {
  readonly id: string
  readonly tenantId: string
  readonly webhookId: string
  readonly eventId: string
  readonly type: string
  readonly status: DeliveryStatus
  readonly attempts: number
  readonly nextAttemptAt: number
  readonly lastStatus: number | null
  readonly lastError: string | null
  readonly createdAt: number
  readonly updatedAt: number
}

/** What one attempt ended with, to store. */
export interface AttemptRecord {
  /** The claim the delivery was sent under. */
  readonly token: string
  readonly deliveryId: string
  readonly webhookId: string
  readonly tenantId: string
  readonly at: number
  readonly outcome: 'success' | 'retry' | 'disable' | 'failure' | 'dead'
  readonly status: number | undefined
  readonly latencyMs: number
  readonly error: string | undefined
  /** The delivery's new state. */
  readonly next: { status: DeliveryStatus; attempts: number; nextAttemptAt: number }
}

export interface AttemptRow {
  readonly at: number
  readonly outcome: string
  readonly status: number | null
  readonly latencyMs: number
  readonly error: string | null
  readonly nextAttemptAt: number | null
}

const num = (v: unknown): number => Number(v)
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

function deliveryOf(r: Record<string, unknown>): DeliveryRow {
  return {
    id: String(r.id),
    tenantId: String(r.tenant_id),
    webhookId: String(r.webhook_id),
    eventId: String(r.event_id),
    type: String(r.type),
    status: String(r.status) as DeliveryStatus,
    attempts: num(r.attempts),
    nextAttemptAt: num(r.next_attempt_at),
    lastStatus: numOrNull(r.last_status),
    lastError: strOrNull(r.last_error),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  }
}

/**
 * The delivery queue in the database: deliveries in feed order, claimed by a worker with a
 * token and a deadline (a crashed worker's claims expire and are retried), finished with
 * their attempt records in one transaction.
 */
export class DeliveryStore {
  // biome-ignore lint/suspicious/noExplicitAny: the CMS's operational tables, addressed by name.
  readonly #db: Kysely<any>
  readonly #isConflict: (e: unknown) => boolean

  constructor(db: AuditedDatabase) {
    this.#db = db.kysely
    this.#isConflict = (e) => db.capabilities.classify(e)?.code === 'conflict'
  }

  /** Queues deliveries; one already queued (same subscription, event and replay) is kept. */
  async enqueue(list: readonly NewDelivery[], now = Date.now()): Promise<number> {
    if (list.length === 0) return 0
    const rows = list.map((d) => ({
      id: ulid(),
      dedupe_key: `${d.webhookId}:${d.eventId}${d.replay === undefined ? '' : `:${d.replay}`}`,
      tenant_id: d.tenantId,
      webhook_id: d.webhookId,
      event_id: d.eventId,
      feed_pos: d.feedPos.toString(),
      type: d.type,
      record_key: d.recordKey.slice(0, 400),
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    }))
    try {
      for (let i = 0; i < rows.length; i += 200)
        await this.#db
          .insertInto('webhook_deliveries')
          .values(rows.slice(i, i + 200))
          .execute()
      return rows.length
    } catch (e) {
      if (!this.#isConflict(e)) throw e
    }
    // A batch redone after a crash: some are queued already; add the rest one by one.
    let added = 0
    for (const row of rows) {
      try {
        await this.#db.insertInto('webhook_deliveries').values(row).execute()
        added += 1
      } catch (e) {
        if (!this.#isConflict(e)) throw e
      }
    }
    return added
  }

  /**
   * Claims up to `limit` deliveries that are due, oldest due first (new deliveries are due
   * when queued, in feed order). With ordering `record`, a delivery waits while an earlier
   * one (in feed order) of the same record for the same subscription is unfinished
   * (pending, retrying or being delivered). Due rows are read by index range
   * (`webhook_deliveries_due`, a page at a time) and the record rule is checked on the
   * page's records with one keyed read: a correlated subquery per row was planned as a scan
   * of every pending delivery on MariaDB (over 5 s at 10,000 pending).
   */
  async claim(
    limit: number,
    claimMs: number,
    now = Date.now(),
  ): Promise<{ token: string; rows: DeliveryRow[] }> {
    const chosen: string[] = []
    for (const status of ['pending', 'retrying'] as const) {
      let after: { at: number; id: string } | undefined
      for (let page = 0; page < 5 && chosen.length < limit; page++) {
        let q = this.#db
          .selectFrom('webhook_deliveries')
          .select(['id', 'webhook_id', 'record_key', 'feed_pos', 'event_id', 'next_attempt_at'])
          .where('status', '=', status)
          .where('next_attempt_at', '<=', now)
        if (after !== undefined) {
          const at = after.at
          const id = after.id
          q = q.where((eb) =>
            eb.or([
              eb('next_attempt_at', '>', at),
              eb.and([eb('next_attempt_at', '=', at), eb('id', '>', id)]),
            ]),
          )
        }
        const due = await q
          .orderBy('next_attempt_at')
          .orderBy('id')
          .limit(limit * 4)
          .execute()
        if (due.length === 0) break
        const last = due.at(-1)!
        after = { at: Number(last.next_attempt_at), id: String(last.id) }
        for (const id of await this.#eligible(due)) {
          if (chosen.length >= limit) break
          chosen.push(id)
        }
        if (due.length < limit * 4) break
      }
    }
    const candidates = chosen.map((id) => ({ id }))
    const token = ulid()
    if (candidates.length === 0) return { token, rows: [] }
    await this.#db
      .updateTable('webhook_deliveries')
      .set({ status: 'delivering', claim: token, claimed_until: now + claimMs, updated_at: now })
      .where(
        'id',
        'in',
        candidates.map((c) => c.id),
      )
      .where('status', 'in', ['pending', 'retrying'])
      .execute()
    const rows = await this.#db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('claim', '=', token)
      .where('status', '=', 'delivering')
      .orderBy('feed_pos')
      .orderBy('event_id')
      .execute()
    return { token, rows: rows.map(deliveryOf) }
  }

  /** The due rows that may go now: their subscription is active, and (ordering `record`)
   * no earlier delivery of their record is unfinished. */
  async #eligible(due: readonly Record<string, unknown>[]): Promise<string[]> {
    const hookIds = [...new Set(due.map((d) => String(d.webhook_id)))]
    const found = await this.#db
      .selectFrom('webhooks')
      .select(['id', 'ordering', 'active'])
      .where('id', 'in', hookIds)
      .execute()
    // Deliveries of a subscription that no longer exists never go: they are dropped.
    const existing = new Set(found.map((h) => String(h.id)))
    for (const id of hookIds) if (!existing.has(id)) await purgeSubscriptionRecords(this.#db, id)
    const hooks = found.filter((h) => h.active === true || h.active === 1 || h.active === '1')
    const ordering = new Map(hooks.map((h) => [String(h.id), String(h.ordering)]))
    const keyed = due.filter((d) => ordering.get(String(d.webhook_id)) === 'record')
    const first = new Map<string, { pos: bigint; eventId: string }>()
    if (keyed.length > 0) {
      const open = await this.#db
        .selectFrom('webhook_deliveries')
        .select(['webhook_id', 'record_key', 'feed_pos', 'event_id'])
        .where('webhook_id', 'in', [...new Set(keyed.map((d) => String(d.webhook_id)))])
        .where('record_key', 'in', [...new Set(keyed.map((d) => String(d.record_key)))])
        .where('status', 'in', ['pending', 'retrying', 'delivering'])
        .execute()
      for (const o of open) {
        const key = `${o.webhook_id} ${o.record_key}`
        const pos = BigInt(String(o.feed_pos))
        const seen = first.get(key)
        const id = String(o.event_id)
        if (seen === undefined || pos < seen.pos || (pos === seen.pos && id < seen.eventId))
          first.set(key, { pos, eventId: id })
      }
    }
    return due
      .filter((d) => {
        const mode = ordering.get(String(d.webhook_id))
        if (mode === undefined) return false // deleted or switched off
        if (mode !== 'record') return true
        const earliest = first.get(`${d.webhook_id} ${d.record_key}`)
        return (
          earliest === undefined ||
          (BigInt(String(d.feed_pos)) === earliest.pos && String(d.event_id) === earliest.eventId)
        )
      })
      .map((d) => String(d.id))
  }

  /** Stores attempts and the deliveries' new states (only while the claim is still ours). */
  async finish(attempts: readonly AttemptRecord[], now = Date.now()): Promise<void> {
    if (attempts.length === 0) return
    await this.#db.transaction().execute(async (tx) => {
      const unmatched: string[] = []
      for (const a of attempts) {
        const updated = await tx
          .updateTable('webhook_deliveries')
          .set({
            status: a.next.status,
            attempts: a.next.attempts,
            next_attempt_at: a.next.nextAttemptAt,
            last_status: a.status ?? null,
            last_error: a.error?.slice(0, 500) ?? null,
            claim: null,
            claimed_until: null,
            updated_at: now,
          })
          .where('id', '=', a.deliveryId)
          .where('claim', '=', a.token)
          .executeTakeFirst()
        if (Number(updated.numUpdatedRows) === 0) unmatched.push(a.deliveryId)
      }
      // A delivery deleted meanwhile (its subscription was) gets no attempt record: it would
      // be an orphan. One whose claim merely expired still gets its attempt recorded.
      const gone = new Set(unmatched)
      if (unmatched.length > 0)
        for (const r of await tx
          .selectFrom('webhook_deliveries')
          .select('id')
          .where('id', 'in', unmatched)
          .execute())
          gone.delete(String(r.id))
      const rows = attempts
        .filter((a) => !gone.has(a.deliveryId))
        .map((a) => ({
          id: ulid(),
          delivery_id: a.deliveryId,
          webhook_id: a.webhookId,
          attempted_at: a.at,
          outcome: a.outcome,
          status_code: a.status ?? null,
          latency_ms: Math.round(a.latencyMs),
          error: a.error?.slice(0, 500) ?? null,
          next_attempt_at: a.next.status === 'retrying' ? a.next.nextAttemptAt : null,
        }))
      for (let i = 0; i < rows.length; i += 200)
        await tx
          .insertInto('webhook_attempts')
          .values(rows.slice(i, i + 200))
          .execute()
    })
  }

  /** Gives a claim back unsent (its deliveries are due again at once). */
  async release(token: string, now = Date.now()): Promise<void> {
    await this.#db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', claim: null, claimed_until: null, updated_at: now })
      .where('claim', '=', token)
      .where('status', '=', 'delivering')
      .where('attempts', '=', 0)
      .execute()
    await this.#db
      .updateTable('webhook_deliveries')
      .set({ status: 'retrying', claim: null, claimed_until: null, updated_at: now })
      .where('claim', '=', token)
      .where('status', '=', 'delivering')
      .execute()
  }

  /** Claims whose worker died: back to `retrying`, due now. */
  async releaseExpired(now = Date.now()): Promise<number> {
    const r = await this.#db
      .updateTable('webhook_deliveries')
      .set({ status: 'retrying', claim: null, claimed_until: null, next_attempt_at: now, updated_at: now })
      .where('status', '=', 'delivering')
      .where('claimed_until', '<', now)
      .executeTakeFirst()
    return Number(r.numUpdatedRows)
  }

  /** A subscription's deliveries, newest first, by keyset on id. */
  async list(
    webhookId: string,
    options: { status?: DeliveryStatus; limit: number; before?: string },
  ): Promise<DeliveryRow[]> {
    let q = this.#db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId)
    if (options.status !== undefined) q = q.where('status', '=', options.status)
    if (options.before !== undefined) q = q.where('id', '<', options.before)
    const rows = await q.orderBy('id', 'desc').limit(options.limit).execute()
    return rows.map(deliveryOf)
  }

  /** Attempts of the given deliveries, oldest first. */
  async attemptsOf(deliveryIds: readonly string[]): Promise<Map<string, AttemptRow[]>> {
    const out = new Map<string, AttemptRow[]>()
    if (deliveryIds.length === 0) return out
    const rows = await this.#db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', 'in', [...deliveryIds])
      .orderBy('id')
      .execute()
    for (const r of rows) {
      const list = out.get(String(r.delivery_id)) ?? []
      list.push({
        at: num(r.attempted_at),
        outcome: String(r.outcome),
        status: numOrNull(r.status_code),
        latencyMs: num(r.latency_ms),
        error: strOrNull(r.error),
        nextAttemptAt: numOrNull(r.next_attempt_at),
      })
      out.set(String(r.delivery_id), list)
    }
    return out
  }
}
