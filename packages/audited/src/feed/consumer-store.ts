import type { Kysely } from 'kysely'
import type { Dialect } from '../db/dialect.js'
import { decodeFeedCursor, encodeFeedCursor, type FeedPoint } from './feed-cursor.js'

/** A consumer's row in `audited_consumers`. */
export interface ConsumerRow {
  readonly name: string
  readonly position: FeedPoint
  readonly leaseOwner: string | null
  readonly leaseToken: number
  readonly leaseUntil: number
  readonly state: 'running' | 'parked'
  readonly attempts: number
  readonly lastError: string | null
  readonly updatedAt: number
}

/** A lease held on a consumer: its fencing token and where the consumer stands. */
export interface ConsumerLease {
  readonly token: number
  readonly position: FeedPoint
  readonly state: 'running' | 'parked'
  readonly attempts: number
}

const TABLE = 'audited_consumers'

function rowOf(r: Record<string, unknown>): ConsumerRow {
  return {
    name: String(r.name),
    position: decodeFeedCursor(String(r.position), 'position'),
    leaseOwner: r.lease_owner === null || r.lease_owner === undefined ? null : String(r.lease_owner),
    leaseToken: Number(r.lease_token),
    leaseUntil: Number(r.lease_until),
    state: r.state === 'parked' ? 'parked' : 'running',
    attempts: Number(r.attempts),
    lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
    updatedAt: Number(r.updated_at),
  }
}

/**
 * Offsets and leases of durable consumers. A lease is a row lease with a fencing token:
 * taking it bumps the token, and every later write of the holder names its token, so a
 * holder that lost its lease (paused, partitioned) can no longer move the offset. Lease
 * times are the processes' clocks (keep them within a second of each other, e.g. NTP).
 */
export class ConsumerStore {
  // biome-ignore lint/suspicious/noExplicitAny: the store addresses its own table by name.
  readonly #db: Kysely<any>
  readonly #dialect: Dialect

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  constructor(db: Kysely<any>, dialect: Dialect) {
    this.#db = db
    this.#dialect = dialect
  }

  /** Creates the consumer's row at `initial` unless it exists. */
  async ensure(name: string, initial: () => Promise<FeedPoint>): Promise<void> {
    const found = await this.#db.selectFrom(TABLE).select('name').where('name', '=', name).executeTakeFirst()
    if (found !== undefined) return
    const position = encodeFeedCursor(await initial())
    try {
      await this.#db
        .insertInto(TABLE)
        .values({
          name,
          position,
          lease_owner: null,
          lease_token: 0,
          lease_until: 0,
          state: 'running',
          attempts: 0,
          last_error: null,
          updated_at: Date.now(),
        })
        .execute()
    } catch (e) {
      if (this.#dialect.classify(e)?.code !== 'conflict') throw e // another process created it
    }
  }

  /** Takes the lease if it is free or expired; undefined when another holder has it. */
  async acquire(name: string, owner: string, ttlMs: number): Promise<ConsumerLease | undefined> {
    const now = Date.now()
    const r = await this.#db
      .updateTable(TABLE)
      .set((eb) => ({
        lease_owner: owner,
        lease_token: eb('lease_token', '+', 1),
        lease_until: now + ttlMs,
        updated_at: now,
      }))
      .where('name', '=', name)
      .where((eb) =>
        eb.or([eb('lease_owner', 'is', null), eb('lease_until', '<', now), eb('lease_owner', '=', owner)]),
      )
      .executeTakeFirst()
    if (Number(r.numUpdatedRows) === 0) return undefined
    const row = await this.#db
      .selectFrom(TABLE)
      .selectAll()
      .where('name', '=', name)
      .where('lease_owner', '=', owner)
      .executeTakeFirst()
    if (row === undefined) return undefined
    const c = rowOf(row)
    return { token: c.leaseToken, position: c.position, state: c.state, attempts: c.attempts }
  }

  /** Extends the lease; false when it was lost (another holder took it). */
  async renew(name: string, token: number, ttlMs: number): Promise<boolean> {
    const r = await this.#db
      .updateTable(TABLE)
      .set({ lease_until: Date.now() + ttlMs })
      .where('name', '=', name)
      .where('lease_token', '=', token)
      .executeTakeFirst()
    return Number(r.numUpdatedRows) > 0
  }

  /** Moves the offset (and clears failures); false when the lease was lost. */
  async advance(name: string, token: number, point: FeedPoint): Promise<boolean> {
    const r = await this.#db
      .updateTable(TABLE)
      .set({
        position: encodeFeedCursor(point),
        attempts: 0,
        last_error: null,
        state: 'running',
        updated_at: Date.now(),
      })
      .where('name', '=', name)
      .where('lease_token', '=', token)
      .executeTakeFirst()
    return Number(r.numUpdatedRows) > 0
  }

  /** Records a failure (and whether the consumer is parked); false when the lease was lost. */
  async fail(
    name: string,
    token: number,
    attempts: number,
    parked: boolean,
    error: string,
  ): Promise<boolean> {
    const r = await this.#db
      .updateTable(TABLE)
      .set({
        attempts,
        state: parked ? 'parked' : 'running',
        last_error: error.slice(0, 500),
        updated_at: Date.now(),
      })
      .where('name', '=', name)
      .where('lease_token', '=', token)
      .executeTakeFirst()
    return Number(r.numUpdatedRows) > 0
  }

  /** Gives the lease up (on stop), so another process takes over at once. */
  async release(name: string, token: number): Promise<void> {
    await this.#db
      .updateTable(TABLE)
      .set({ lease_owner: null, lease_until: 0 })
      .where('name', '=', name)
      .where('lease_token', '=', token)
      .execute()
  }

  /** Every consumer's row (for metrics and operators). */
  async list(): Promise<ConsumerRow[]> {
    const rows = await this.#db.selectFrom(TABLE).selectAll().orderBy('name').execute()
    return rows.map(rowOf)
  }
}
