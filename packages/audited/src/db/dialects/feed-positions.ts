/**
 * How each database gives a change event its feed position (`change_events.feed_pos`),
 * the order in which the feed hands events out. The rule every dialect keeps: once a reader
 * has seen position P, no event below P can ever appear.
 *
 * - PostgreSQL: the writing transaction's id (`pg_current_xact_id()`, the column default),
 *   ties broken by event id. Transactions commit out of id order, so a reader only reads
 *   below `pg_snapshot_xmin(pg_current_snapshot())`: every transaction below it has ended.
 *   Nothing on the write path is serialised; a transaction that stays open (anywhere on the
 *   server) holds the feed back until it ends.
 * - MySQL/MariaDB: no snapshot horizon to read below, so a sequencer row: a transaction
 *   reserves its positions in the same request as its event INSERT and COMMIT, holding the
 *   row's lock only for that request. The next transaction gets its positions after the
 *   previous one committed, so position order is commit order and no gap ever opens (a
 *   rollback returns its reservation). Gap detection with a timeout (Marten's high-water
 *   mark) would guess instead: it skips an event whose transaction outlives the timeout.
 * - SQLite: one writer, so the same sequencer costs a few microseconds and no waiting.
 */
import type { FeedCapability } from '../dialect.js'

const SEQUENCER = 'audited_feed_sequence'

/** Sequencer statements shared by the dialects that use one. */
function sequencer(): Pick<FeedCapability, 'reserveSql' | 'positionSql' | 'sequencerTable'> {
  return {
    sequencerTable: SEQUENCER,
    reserveSql: (n) => `UPDATE ${SEQUENCER} SET last_pos = last_pos + ${Math.trunc(n)} WHERE id = 1`,
    positionSql: (i, n) => `(SELECT last_pos FROM ${SEQUENCER} WHERE id = 1) - ${Math.trunc(n - 1 - i)}`,
  }
}

export const POSTGRES_FEED: FeedCapability = {
  addPositionSql: [
    // Instant (a constant default); old events read 0, before every new one.
    'ALTER TABLE change_events ADD COLUMN feed_pos bigint NOT NULL DEFAULT 0',
    // New events: the writing transaction's id (xid8, never wraps).
    'ALTER TABLE change_events ALTER COLUMN feed_pos SET DEFAULT (pg_current_xact_id()::text::bigint)',
  ],
  boundSql: '(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)',
  holdbackSql:
    'SELECT COALESCE(MAX(EXTRACT(EPOCH FROM (clock_timestamp() - xact_start))) * 1000, 0) AS age_ms FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()',
}

export const MYSQL_FEED: FeedCapability = {
  addPositionSql: ['ALTER TABLE change_events ADD COLUMN feed_pos BIGINT NOT NULL DEFAULT 0'],
  ...sequencer(),
}

export const SQLITE_FEED: FeedCapability = {
  addPositionSql: ['ALTER TABLE change_events ADD COLUMN feed_pos INTEGER NOT NULL DEFAULT 0'],
  ...sequencer(),
}
