import type { Kysely } from 'kysely'
import type { Dialect } from '../db/dialect.js'
import { createIndexIfMissing, makeTextExact } from '../db/schema-helpers.js'

/**
 * Migration 5: the tamper-evident logs (see integrity/log-store.ts). One Merkle log per
 * tenant (`log_key`: the tenant id, '' for events without one):
 * - `audited_logs`: each log's size, right edge (compact range) and last sealed feed point;
 * - `audited_log_leaves`: one leaf per event, in log order (the event id finds its proof);
 * - `audited_log_nodes`: roots of complete subtrees of 256, 65 536, … leaves, so a proof
 *   reads O(log n) rows however long the log;
 * - `audited_checkpoints`: the signed tree heads (C2SP signed notes).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations address tables the typed schema does not know yet.
export async function addIntegrityLogs(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('audited_logs')
    .ifNotExists()
    .addColumn('log_key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(255)')
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('frontier', 'text', (c) => c.notNull())
    .addColumn('last_position', 'varchar(40)', (c) => c.notNull())
    .addColumn('last_event_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('checkpoint_size', 'bigint', (c) => c.notNull())
    .addColumn('checkpoint_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('audited_log_leaves')
    .ifNotExists()
    .addColumn('log_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('leaf_index', 'bigint', (c) => c.notNull())
    .addColumn('event_id', 'varchar(26)', (c) => c.notNull())
    .addColumn('leaf_hash', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('audited_log_leaves_pk', ['log_key', 'leaf_index'])
    .execute()
  await createIndexIfMissing(db, dialect, 'audited_log_leaves', 'audited_log_leaves_event', ['event_id'])
  await db.schema
    .createTable('audited_log_nodes')
    .ifNotExists()
    .addColumn('log_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('node_index', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('audited_log_nodes_pk', ['log_key', 'height', 'node_index'])
    .execute()
  await db.schema
    .createTable('audited_checkpoints')
    .ifNotExists()
    .addColumn('log_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('tree_size', 'bigint', (c) => c.notNull())
    .addColumn('root_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('audited_checkpoints_pk', ['log_key', 'tree_size'])
    .execute()
  await makeTextExact(db, dialect, [
    'audited_logs',
    'audited_log_leaves',
    'audited_log_nodes',
    'audited_checkpoints',
  ])
}
