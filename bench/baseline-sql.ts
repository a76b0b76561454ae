/**
 * The SQL of the hand-written baselines: one table of what differs per dialect, and the
 * statements built from it. The engine runs the same kinds of statements (its own
 * compiled forms); these are what an application would write without it.
 */

import { EVENT_COLUMNS } from '../packages/audited/src/audit/change-event.js'
import type { DialectName } from '../packages/audited/src/index.js'
import type { RawStatement } from './raw-pools.js'

interface DialectSqlTraits {
  /** Opens a write transaction (the engine uses the same statement). */
  readonly begin: string
  /** Appended to the before-state read; SQLite's BEGIN IMMEDIATE already holds the only write lock. */
  readonly lock: string
  /** `$1, $2, …` instead of `?`. */
  readonly numbered: boolean
  /** Empties both tables between measured cycles (outside timing). */
  readonly reset: readonly string[]
}

export const DIALECT_SQL: Readonly<Record<DialectName, DialectSqlTraits>> = {
  sqlite: {
    begin: 'BEGIN IMMEDIATE',
    lock: '',
    numbered: false,
    reset: ['DELETE FROM items', 'DELETE FROM change_events'],
  },
  postgres: {
    begin: 'BEGIN',
    lock: ' FOR UPDATE',
    numbered: true,
    reset: ['TRUNCATE items, change_events'],
  },
  mysql: {
    begin: 'START TRANSACTION',
    lock: ' FOR UPDATE',
    numbered: false,
    reset: ['TRUNCATE TABLE items', 'TRUNCATE TABLE change_events'],
  },
}

/** The change-event columns the hand-written version fills — all of the table's (the schema's own list). */
export const HAND_EVENT_COLUMNS = EVENT_COLUMNS

export const ITEM_COLUMNS = ['id', 'tenant_id', 'title', 'body', 'views', 'version'] as const

export interface BaselineSql {
  readonly begin: RawStatement
  readonly commit: RawStatement
  readonly rollback: RawStatement
  readonly insertItem: RawStatement
  readonly updateItem: RawStatement
  readonly deleteItem: RawStatement
  /** The before-state, locked where the dialect has row locks. */
  readonly selectItem: RawStatement
  readonly insertEvent: RawStatement
  readonly reset: readonly RawStatement[]
}

function numberPlaceholders(text: string): string {
  let n = 0
  return text.replace(/\?/g, () => `$${++n}`)
}

const marks = (count: number) => Array.from({ length: count }, () => '?').join(', ')

export function baselineSql(dialect: DialectName): BaselineSql {
  const traits = DIALECT_SQL[dialect]
  const statement = (name: string, text: string): RawStatement => ({
    name: `bench_${name}`,
    sql: traits.numbered ? numberPlaceholders(text) : text,
  })
  return {
    begin: statement('begin', traits.begin),
    commit: statement('commit', 'COMMIT'),
    rollback: statement('rollback', 'ROLLBACK'),
    insertItem: statement(
      'insert_item',
      `INSERT INTO items (${ITEM_COLUMNS.join(', ')}) VALUES (${marks(ITEM_COLUMNS.length)})`,
    ),
    updateItem: statement(
      'update_item',
      'UPDATE items SET title = ?, views = ?, version = version + 1 WHERE id = ? AND tenant_id = ?',
    ),
    deleteItem: statement('delete_item', 'DELETE FROM items WHERE id = ? AND tenant_id = ?'),
    selectItem: statement(
      'select_item',
      `SELECT ${ITEM_COLUMNS.join(', ')} FROM items WHERE id = ? AND tenant_id = ?${traits.lock}`,
    ),
    insertEvent: statement(
      'insert_event',
      `INSERT INTO change_events (${HAND_EVENT_COLUMNS.join(', ')}) VALUES (${marks(HAND_EVENT_COLUMNS.length)})`,
    ),
    reset: traits.reset.map((text, i) => statement(`reset_${i}`, text)),
  }
}
