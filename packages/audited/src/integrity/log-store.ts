import { CompiledQuery, type Kysely, sql } from 'kysely'
import type { Dialect } from '../db/dialect.js'
import type { FeedPoint } from '../feed/feed-cursor.js'
import { CompactRange, fromHex, type MerkleHasher, type PerfectHash, toHex } from './merkle.js'

/** Subtrees of 2^STRIDE leaves (and of 2^(2·STRIDE), …) are stored; smaller ones are
 * hashed up from at most 2^STRIDE stored hashes when a proof needs them. */
export const NODE_STRIDE = 8

/** Rows per INSERT statement of leaves and nodes. */
const INSERT_ROWS = 500

/** One log's row in `audited_logs`. */
export interface LogState {
  readonly logKey: string
  readonly tenantId: string | null
  readonly size: number
  readonly frontier: readonly Uint8Array[]
  readonly last: FeedPoint
  readonly checkpointSize: number
  readonly checkpointAt: number
}

/** A stored checkpoint. */
export interface StoredCheckpoint {
  readonly logKey: string
  readonly treeSize: number
  readonly rootHash: string
  readonly createdAt: string
  /** The C2SP signed note. */
  readonly note: string
}

export interface StoredLeaf {
  readonly logKey: string
  readonly leafIndex: number
  readonly eventId: string
  readonly leafHash: string
  /** The archive segment of a purged event (see archive-migration.ts); null: not purged. */
  readonly segmentId?: string | null
}

/** A log's row as `verify` reads it: undefined where a part does not parse (`raw` says
 * what is stored instead). */
export interface LogStateRead {
  readonly logKey: string
  /** A non-negative safe integer, else undefined. */
  readonly size: number | undefined
  /** The right edge's hashes, else undefined (not 64-digit lower-case hex each). */
  readonly frontier: readonly Uint8Array[] | undefined
  /** The last sealed feed point, else undefined. */
  readonly last: FeedPoint | undefined
  /** Whether its tenant is the one its key names. */
  readonly tenantMatches: boolean
  readonly raw: {
    readonly size: string
    readonly frontier: string
    readonly last: string
    readonly tenant: string
  }
}

const HASH = /^[0-9a-f]{64}$/
const POSITION = /^-?\d{1,19}$/

function readState(r: Record<string, unknown>): LogStateRead {
  const size = String(r.size)
  const frontier = String(r.frontier ?? '')
  const hashes = frontier === '' ? [] : frontier.split(',')
  const position = String(r.last_position ?? '')
  const eventId = String(r.last_event_id ?? '')
  const logKey = String(r.log_key)
  const tenant = r.tenant_id === null || r.tenant_id === undefined ? null : String(r.tenant_id)
  return {
    logKey,
    tenantMatches: tenant === tenantOfLogKey(logKey),
    size: /^\d+$/.test(size) && Number.isSafeInteger(Number(size)) ? Number(size) : undefined,
    frontier: hashes.every((h) => HASH.test(h)) ? hashes.map(fromHex) : undefined,
    last: POSITION.test(position) && eventId !== '' ? { position: BigInt(position), eventId } : undefined,
    raw: { size, frontier, last: `${position} ${eventId}`, tenant: String(tenant) },
  }
}

/** The log of a tenant (`''`: events without one). */
export const logKeyOf = (tenantId: string | null): string => tenantId ?? ''
export const tenantOfLogKey = (logKey: string): string | null => (logKey === '' ? null : logKey)

// biome-ignore lint/suspicious/noExplicitAny: the store addresses its own tables by name.
type Db = Kysely<any>

const checkpointOf = (r: Record<string, unknown>): StoredCheckpoint => ({
  logKey: String(r.log_key),
  treeSize: Number(r.tree_size),
  rootHash: String(r.root_hash),
  createdAt: String(r.created_at),
  note: String(r.note),
})

/** A leaf row as the stores return it. */
export const leafOf = (r: Record<string, unknown>): StoredLeaf => ({
  logKey: String(r.log_key),
  leafIndex: Number(r.leaf_index),
  eventId: String(r.event_id),
  leafHash: String(r.leaf_hash),
  segmentId: r.segment_id === null || r.segment_id === undefined ? null : String(r.segment_id),
})

/** Reads and writes of the Merkle logs' tables (see log-migration.ts). */
export class LogStore {
  readonly #db: Db
  readonly #dialect: Dialect

  constructor(db: Db, dialect: Dialect) {
    this.#db = db
    this.#dialect = dialect
  }

  get db(): Db {
    return this.#db
  }

  /** The log's state, locked for the transaction `tx` where the database has row locks. */
  async state(tx: Db, logKey: string, lock: boolean): Promise<LogState | undefined> {
    let q = tx.selectFrom('audited_logs').selectAll().where('log_key', '=', logKey)
    if (lock && this.#dialect.supportsRowLocks) q = q.forUpdate()
    const r = await q.executeTakeFirst()
    if (r === undefined) return undefined
    const frontier = String(r.frontier)
    return {
      logKey,
      tenantId: r.tenant_id === null || r.tenant_id === undefined ? null : String(r.tenant_id),
      size: Number(r.size),
      frontier: frontier === '' ? [] : frontier.split(',').map(fromHex),
      last: { position: BigInt(String(r.last_position)), eventId: String(r.last_event_id) },
      checkpointSize: Number(r.checkpoint_size),
      checkpointAt: Number(r.checkpoint_at),
    }
  }

  /** Every log's state as `verify` reads it (unlocked): each part parsed on its own, and a
   * part that does not parse left undefined — the row is the sealer's bookkeeping, signed
   * by nothing, so a changed one is a finding, not a failed run. */
  async statesRead(): Promise<LogStateRead[]> {
    const rows = await this.#db.selectFrom('audited_logs').selectAll().orderBy('log_key').execute()
    return rows.map((r: Record<string, unknown>) => readState(r))
  }

  /** The lowest leaf index of a log at or above `from` (undefined: none). */
  async nextLeafIndex(logKey: string, from: number): Promise<number | undefined> {
    const r = await this.#db
      .selectFrom('audited_log_leaves')
      .select((eb) => eb.fn.min('leaf_index').as('i'))
      .where('log_key', '=', logKey)
      .where('leaf_index', '>=', from)
      .executeTakeFirst()
    return r?.i === null || r?.i === undefined ? undefined : Number(r.i)
  }

  async saveState(tx: Db, s: LogState, isNew: boolean): Promise<void> {
    const values = {
      tenant_id: s.tenantId,
      size: s.size,
      frontier: s.frontier.map(toHex).join(','),
      last_position: s.last.position.toString(),
      last_event_id: s.last.eventId,
      checkpoint_size: s.checkpointSize,
      checkpoint_at: s.checkpointAt,
    }
    if (isNew)
      await tx
        .insertInto('audited_logs')
        .values({ log_key: s.logKey, ...values })
        .execute()
    else await tx.updateTable('audited_logs').set(values).where('log_key', '=', s.logKey).execute()
  }

  async insertLeaves(tx: Db, leaves: readonly StoredLeaf[]): Promise<void> {
    await this.#insertRows(
      tx,
      'audited_log_leaves',
      ['log_key', 'leaf_index', 'event_id', 'leaf_hash'],
      leaves.map((l) => [l.logKey, l.leafIndex, l.eventId, l.leafHash]),
    )
  }

  async insertNodes(
    tx: Db,
    nodes: readonly { logKey: string; height: number; index: number; hash: string }[],
  ): Promise<void> {
    await this.#insertRows(
      tx,
      'audited_log_nodes',
      ['log_key', 'height', 'node_index', 'hash'],
      nodes.map((n) => [n.logKey, n.height, n.index, n.hash]),
    )
  }

  /** Multi-row INSERTs of up to 500 rows, each shape compiled once (the sealer's hot path:
   * building a 500-row insert through the query builder cost ~3 µs a row). */
  readonly #inserts = new Map<string, string>()
  async #insertRows(tx: Db, table: string, columns: readonly string[], rows: unknown[][]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      const chunk = rows.slice(i, i + INSERT_ROWS)
      const key = `${table}:${chunk.length}`
      let text = this.#inserts.get(key)
      if (text === undefined) {
        const row = Object.fromEntries(columns.map((c) => [c, 0]))
        const q = this.#db
          .insertInto(table)
          .values(chunk.map(() => row))
          .compile()
        if (q.parameters.length !== chunk.length * columns.length)
          throw new Error(`${table} INSERT: expected ${chunk.length * columns.length} parameters`)
        text = q.sql
        // Bounded: batch sizes vary, and a 500-row text is ~20 kB.
        if (this.#inserts.size >= 64) this.#inserts.clear()
        this.#inserts.set(key, text)
      }
      await tx.executeQuery(CompiledQuery.raw(text, chunk.flat()))
    }
  }

  async insertCheckpoint(tx: Db, c: StoredCheckpoint): Promise<void> {
    await tx
      .insertInto('audited_checkpoints')
      .values({
        log_key: c.logKey,
        tree_size: c.treeSize,
        root_hash: c.rootHash,
        created_at: c.createdAt,
        note: c.note,
      })
      .execute()
  }

  /** The leaf of an event, if it has been sealed. */
  async leafOfEvent(eventId: string): Promise<StoredLeaf | undefined> {
    const r = await this.#db
      .selectFrom('audited_log_leaves')
      .selectAll()
      .where('event_id', '=', eventId)
      .executeTakeFirst()
    return r === undefined ? undefined : leafOf(r)
  }

  /** The leaves of a log with an index in `from` … `from + count − 1`, in order (fewer
   * where some are missing): a bounded range, so the plan is an index range scan even
   * where the table has no statistics yet. */
  async leafRange(logKey: string, from: number, count: number): Promise<StoredLeaf[]> {
    const rows = await this.#db
      .selectFrom('audited_log_leaves')
      .selectAll()
      .where('log_key', '=', logKey)
      .where('leaf_index', '>=', from)
      .where('leaf_index', '<', from + count)
      .orderBy('leaf_index')
      .execute()
    return rows.map(leafOf)
  }

  /** Checkpoints of a log with a tree size above `after`, oldest first. */
  async checkpoints(logKey: string, after: number, limit: number): Promise<StoredCheckpoint[]> {
    const rows = await this.#db
      .selectFrom('audited_checkpoints')
      .selectAll()
      .where('log_key', '=', logKey)
      .where('tree_size', '>', after)
      .orderBy('tree_size')
      .limit(limit)
      .execute()
    return rows.map(checkpointOf)
  }

  /** The newest checkpoint of a log. */
  async latestCheckpoint(logKey: string): Promise<StoredCheckpoint | undefined> {
    const r = await this.#db
      .selectFrom('audited_checkpoints')
      .selectAll()
      .where('log_key', '=', logKey)
      .orderBy('tree_size', 'desc')
      .limit(1)
      .executeTakeFirst()
    return r === undefined ? undefined : checkpointOf(r)
  }

  /** Each log's newest checkpoint size. */
  async latestSizes(): Promise<Map<string, number>> {
    const rows = await this.#db
      .selectFrom('audited_checkpoints')
      .select(['log_key', (eb) => eb.fn.max('tree_size').as('size')])
      .groupBy('log_key')
      .execute()
    return new Map(rows.map((r: { log_key: unknown; size: unknown }) => [String(r.log_key), Number(r.size)]))
  }

  /** The checkpoint of a log at exactly `size` leaves. */
  async checkpointAt(logKey: string, size: number): Promise<StoredCheckpoint | undefined> {
    const r = await this.#db
      .selectFrom('audited_checkpoints')
      .selectAll()
      .where('log_key', '=', logKey)
      .where('tree_size', '=', size)
      .executeTakeFirst()
    return r === undefined ? undefined : checkpointOf(r)
  }

  /** Stored hashes at `height` (0: leaves; else a multiple of NODE_STRIDE), indexes
   * `from` … `to − 1`. */
  async #stored(logKey: string, height: number, from: number, to: number): Promise<Uint8Array[]> {
    const rows =
      height === 0
        ? await this.#db
            .selectFrom('audited_log_leaves')
            .select(sql<string>`leaf_hash`.as('hash'))
            .where('log_key', '=', logKey)
            .where('leaf_index', '>=', from)
            .where('leaf_index', '<', to)
            .orderBy('leaf_index')
            .execute()
        : await this.#db
            .selectFrom('audited_log_nodes')
            .select('hash')
            .where('log_key', '=', logKey)
            .where('height', '=', height)
            .where('node_index', '>=', from)
            .where('node_index', '<', to)
            .orderBy('node_index')
            .execute()
    if (rows.length !== to - from) throw new Error(`the log "${logKey}" is missing stored hashes`)
    return rows.map((r: { hash: unknown }) => fromHex(String(r.hash)))
  }

  /** Perfect subtree hashes of a log, for proofs: one query each. */
  perfect(logKey: string, h: MerkleHasher): PerfectHash {
    return async (height, index) => {
      const base = height - (height % NODE_STRIDE)
      const span = 2 ** (height - base)
      const hashes = await this.#stored(logKey, base, index * span, (index + 1) * span)
      const range = new CompactRange(h)
      for (const x of hashes) range.append(x)
      return range.root()
    }
  }
}
