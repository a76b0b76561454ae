import type { Kysely } from 'kysely'
import type { Dialect } from '../db/dialect.js'
import { leafOf, type StoredLeaf } from './log-store.js'

/** A row of `audited_archive_segments` (see archive-migration.ts). */
export interface StoredSegment {
  readonly segmentId: string
  readonly logKey: string
  readonly firstLeaf: number
  readonly lastLeaf: number
  readonly leafCount: number
  readonly fileName: string | null
  readonly fileSha256: string | null
  readonly createdAt: string
  /** The signed manifest (archive-manifest.ts). */
  readonly note: string
}

// biome-ignore lint/suspicious/noExplicitAny: the store addresses its own tables by name.
type Db = Kysely<any>

const segmentOf = (r: Record<string, unknown>): StoredSegment => ({
  segmentId: String(r.segment_id),
  logKey: String(r.log_key),
  firstLeaf: Number(r.first_leaf),
  lastLeaf: Number(r.last_leaf),
  leafCount: Number(r.leaf_count),
  fileName: r.file_name === null || r.file_name === undefined ? null : String(r.file_name),
  fileSha256: r.file_sha256 === null || r.file_sha256 === undefined ? null : String(r.file_sha256),
  createdAt: String(r.created_at),
  note: String(r.note),
})

/** Reads and writes of the archive: segments, purge markings, purges. */
export class ArchiveStore {
  readonly #db: Db
  readonly #dialect: Dialect

  constructor(db: Db, dialect: Dialect) {
    this.#db = db
    this.#dialect = dialect
  }

  /** Every segment of a log, oldest first. */
  async segments(logKey: string): Promise<StoredSegment[]> {
    const rows = await this.#db
      .selectFrom('audited_archive_segments')
      .selectAll()
      .where('log_key', '=', logKey)
      .orderBy('segment_id')
      .execute()
    return rows.map(segmentOf)
  }

  /** Every segment with an archive file (of one log, or of all), oldest first. */
  async segmentsWithFiles(logKey?: string): Promise<StoredSegment[]> {
    let q = this.#db.selectFrom('audited_archive_segments').selectAll().where('file_name', 'is not', null)
    if (logKey !== undefined) q = q.where('log_key', '=', logKey)
    return (await q.orderBy('segment_id').execute()).map(segmentOf)
  }

  async segment(segmentId: string): Promise<StoredSegment | undefined> {
    const r = await this.#db
      .selectFrom('audited_archive_segments')
      .selectAll()
      .where('segment_id', '=', segmentId)
      .executeTakeFirst()
    return r === undefined ? undefined : segmentOf(r)
  }

  async insertSegment(s: StoredSegment): Promise<void> {
    await this.#db
      .insertInto('audited_archive_segments')
      .values({
        segment_id: s.segmentId,
        log_key: s.logKey,
        first_leaf: s.firstLeaf,
        last_leaf: s.lastLeaf,
        leaf_count: s.leafCount,
        file_name: s.fileName,
        file_sha256: s.fileSha256,
        created_at: s.createdAt,
        note: s.note,
      })
      .execute()
  }

  /** The leaves of these events in a log (events not sealed have none). */
  async leavesOfEvents(logKey: string, eventIds: readonly string[]): Promise<StoredLeaf[]> {
    const out: StoredLeaf[] = []
    for (let i = 0; i < eventIds.length; i += 500) {
      const rows = await this.#db
        .selectFrom('audited_log_leaves')
        .selectAll()
        .where('log_key', '=', logKey)
        .where('event_id', 'in', eventIds.slice(i, i + 500))
        .execute()
      out.push(...rows.map(leafOf))
    }
    return out
  }

  /** The leaves at these indexes of a log. */
  async leavesAt(logKey: string, indexes: readonly number[]): Promise<StoredLeaf[]> {
    const out: StoredLeaf[] = []
    for (let i = 0; i < indexes.length; i += 500) {
      const rows = await this.#db
        .selectFrom('audited_log_leaves')
        .selectAll()
        .where('log_key', '=', logKey)
        .where('leaf_index', 'in', indexes.slice(i, i + 500))
        .execute()
      out.push(...rows.map(leafOf))
    }
    return out
  }

  /**
   * One purge batch, in one short transaction: of these events of the log, the ones still
   * stored are deleted and their leaves marked with `segmentId` (leaves stay: the tree and
   * every proof stay valid). Returns the ids purged by this call (another run may have
   * purged some first).
   */
  async purge(logKey: string, segmentId: string, eventIds: readonly string[]): Promise<string[]> {
    if (eventIds.length === 0) return []
    return this.#db.transaction().execute(async (tx) => {
      let q = tx.selectFrom('change_events').select('event_id').where('event_id', 'in', eventIds)
      if (this.#dialect.supportsRowLocks) q = q.forUpdate()
      const present = (await q.execute()).map((r: { event_id: unknown }) => String(r.event_id))
      if (present.length === 0) return []
      await tx.deleteFrom('change_events').where('event_id', 'in', present).execute()
      await tx
        .updateTable('audited_log_leaves')
        .set({ segment_id: segmentId })
        .where('log_key', '=', logKey)
        .where('event_id', 'in', present)
        .where('segment_id', 'is', null)
        .execute()
      return present
    })
  }
}
