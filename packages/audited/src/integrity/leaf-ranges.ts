/**
 * Verification's read of a log's leaves: a range of indexes as one row of three
 * comma-joined lists (indexes, event ids, hashes), which costs a driver a fraction of a
 * thousand rows. Only an optimisation, checked before use: a range holding a purged leaf,
 * or a list whose length is not the range's count (a separator in a rewritten value, a
 * list cut by a server limit), is read row by row instead.
 */
import { sql } from 'kysely'
import type { Dialect } from '../db/dialect.js'
import type { LogStore, StoredLeaf } from './log-store.js'

export class LeafRanges {
  readonly #store: LogStore
  readonly #dialect: Dialect

  constructor(store: LogStore, dialect: Dialect) {
    this.#store = store
    this.#dialect = dialect
  }

  /** The leaves of `logKey` with an index in `from` … `from + count − 1`, in order. */
  async read(logKey: string, from: number, count: number): Promise<StoredLeaf[]> {
    const l = this.#dialect.leafSql
    const rows = () => this.#store.leafRange(logKey, from, count)
    if (l === undefined) return rows()
    const order = 'leaf_index'
    const row = await this.#store.db
      .selectFrom('audited_log_leaves')
      .select([
        sql<number>`COUNT(*)`.as('n'),
        sql<number>`COUNT(segment_id)`.as('purged'),
        sql<string>`${sql.raw(l.joined(this.#dialect.bigintAsText('leaf_index'), order))}`.as('idx'),
        sql<string>`${sql.raw(l.joined('event_id', order))}`.as('ids'),
        sql<string>`${sql.raw(l.joined('leaf_hash', order))}`.as('hashes'),
      ])
      .where('log_key', '=', logKey)
      .where('leaf_index', '>=', from)
      .where('leaf_index', '<', from + count)
      .executeTakeFirst()
    const n = Number(row?.n ?? 0)
    if (n === 0) return []
    if (Number(row?.purged) !== 0) return rows()
    const idx = String(row?.idx ?? '').split(',')
    const ids = String(row?.ids ?? '').split(',')
    const hashes = String(row?.hashes ?? '').split(',')
    if (idx.length !== n || ids.length !== n || hashes.length !== n) return rows()
    const leaves: StoredLeaf[] = new Array(n)
    for (let i = 0; i < n; i += 1)
      leaves[i] = {
        logKey,
        leafIndex: Number(idx[i]),
        eventId: ids[i]!,
        leafHash: hashes[i]!,
        segmentId: null,
      }
    return leaves
  }
}
