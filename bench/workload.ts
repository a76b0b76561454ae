/**
 * What is measured: one row created, updated or deleted in its own transaction, written
 * three ways — plain (no audit), by hand with a change event, and through the engine.
 */
import { monotonicFactory } from 'ulid'
import {
  type AuditContext,
  type AuditedDatabase,
  type Auditor,
  defineEntity,
  HlcClock,
} from '../packages/audited/src/index.js'
import type { BaselineSql } from './baseline-sql.js'
import type { RawConnection, RawPool, RawResult } from './raw-pools.js'

export type Mode = 'plain' | 'hand' | 'engine'
export type Op = 'create' | 'update' | 'delete'
export const MODES: readonly Mode[] = ['plain', 'hand', 'engine']
export const OPS: readonly Op[] = ['create', 'update', 'delete']

export interface Item {
  id: string
  tenant_id: string
  title: string
  body: string | null
  views: number
  version: number
}

export const items = defineEntity<Item>({
  table: 'items',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
})

export const TENANT = 'bench'
export const CTX: AuditContext = {
  tenantId: TENANT,
  actorId: 'bench-user',
  actorType: 'user',
  requestId: 'bench-request',
  ip: '203.0.113.7',
  userAgent: 'audited-bench/1.0',
}
const BODY = 'A benchmark row with a body of about one hundred and twenty characters, like a short comment.'
const titleOf = (n: number) => `item ${n}`
const editedTitleOf = (n: number) => `item ${n} (edited)`

/** The same three operations, however they are written. `n` varies the values. */
export interface Writer {
  create(id: string, n: number): Promise<void>
  update(id: string, n: number): Promise<void>
  delete(id: string): Promise<void>
}

/** The bench table; the engine needs nothing else but `migrate(db)`. */
export async function createItemsTable(db: AuditedDatabase): Promise<void> {
  await db.kysely.schema
    .createTable('items')
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('body', 'text')
    .addColumn('views', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute()
}

export function engineWriter(auditor: Auditor): Writer {
  return {
    async create(id, n) {
      await auditor.create(items, { id, title: titleOf(n), body: BODY }, CTX)
    },
    async update(id, n) {
      await auditor.update(items, id, { title: editedTitleOf(n), views: n }, CTX)
    },
    async delete(id) {
      await auditor.delete(items, id, CTX)
    },
  }
}

/** One `createMany` call of `ids.length` rows. */
export async function engineCreateMany(auditor: Auditor, ids: readonly string[]): Promise<void> {
  await auditor.createMany(
    items,
    ids.map((id, n) => ({ id, title: titleOf(n), body: BODY })),
    CTX,
  )
}

/** BEGIN; fn; COMMIT on one leased connection, ROLLBACK if anything fails. */
async function inTransaction(pool: RawPool, q: BaselineSql, fn: (c: RawConnection) => Promise<void>) {
  await pool.withConnection(async (conn) => {
    await conn.run(q.begin, [])
    try {
      await fn(conn)
      await conn.run(q.commit, [])
    } catch (e) {
      await conn.run(q.rollback, []).catch(() => {})
      throw e
    }
  })
}

async function expectOneRow(result: Promise<RawResult>, what: string): Promise<void> {
  const { affected } = await result
  if (affected !== 1) throw new Error(`${what} affected ${affected} rows, expected 1`)
}

const itemParams = (row: Item): unknown[] => [
  row.id,
  row.tenant_id,
  row.title,
  row.body,
  row.views,
  row.version,
]

const newItem = (id: string, n: number): Item => ({
  id,
  tenant_id: TENANT,
  title: titleOf(n),
  body: BODY,
  views: 0,
  version: 1,
})

/** Statements without an audit trail: the floor of the database itself. */
export function plainWriter(pool: RawPool, q: BaselineSql): Writer {
  return {
    create: (id, n) =>
      inTransaction(pool, q, (c) => expectOneRow(c.run(q.insertItem, itemParams(newItem(id, n))), 'insert')),
    update: (id, n) =>
      inTransaction(pool, q, (c) =>
        expectOneRow(c.run(q.updateItem, [editedTitleOf(n), n, id, TENANT]), 'update'),
      ),
    delete: (id) => inTransaction(pool, q, (c) => expectOneRow(c.run(q.deleteItem, [id, TENANT]), 'delete')),
  }
}

/** How the hand-written version binds an HLC and a timestamp (the dialect's own rules). */
export interface EventEncoding {
  bigintParameter(value: bigint): unknown
  toParameter(value: unknown): unknown
}

type State = Readonly<Record<string, unknown>>

function changedFields(before: State | null, after: State | null): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])
  return [...keys].filter((k) => (before?.[k] ?? null) !== (after?.[k] ?? null)).sort()
}

/** Builds the change-event row a careful hand-written audit would store. */
class HandEvents {
  readonly #eventId = monotonicFactory()
  readonly #clock = new HlcClock()
  readonly #encoding: EventEncoding

  constructor(encoding: EventEncoding) {
    this.#encoding = encoding
  }

  params(operation: 'INSERT' | 'UPDATE' | 'DELETE', id: string, before: State | null, after: State | null) {
    const json = (v: unknown) => (v === null ? null : JSON.stringify(v))
    const enc = this.#encoding
    const eventId = this.#eventId()
    return [
      eventId,
      enc.bigintParameter(this.#clock.now()),
      enc.toParameter(new Date()),
      'bench-hand',
      TENANT,
      eventId, // one event per transaction: its id doubles as the transaction id
      'items',
      id,
      operation,
      operation === 'INSERT' ? 'create' : operation === 'UPDATE' ? 'update' : 'delete',
      CTX.actorId,
      CTX.actorType,
      json(before),
      json(after),
      json(changedFields(before, after)),
      CTX.requestId ?? null,
      CTX.ip ?? null,
      CTX.userAgent ?? null,
      null,
      null,
    ]
  }
}

/** Reads the before-state the event needs (locked on PostgreSQL / MariaDB). */
async function lockedItem(c: RawConnection, q: BaselineSql, id: string): Promise<State> {
  const { rows } = await c.run(q.selectItem, [id, TENANT])
  const row = rows[0]
  if (row === undefined) throw new Error(`item ${id} not found`)
  return row
}

/** The same statements plus one change-event INSERT in the same transaction; update and
 * delete first read the before-state. */
export function handWriter(pool: RawPool, q: BaselineSql, encoding: EventEncoding): Writer {
  const events = new HandEvents(encoding)
  return {
    create: (id, n) =>
      inTransaction(pool, q, async (c) => {
        const row = newItem(id, n)
        await expectOneRow(c.run(q.insertItem, itemParams(row)), 'insert')
        await c.run(q.insertEvent, events.params('INSERT', id, null, { ...row }))
      }),
    update: (id, n) =>
      inTransaction(pool, q, async (c) => {
        const before = await lockedItem(c, q, id)
        const after = { ...before, title: editedTitleOf(n), views: n, version: Number(before.version) + 1 }
        await expectOneRow(c.run(q.updateItem, [after.title, n, id, TENANT]), 'update')
        await c.run(q.insertEvent, events.params('UPDATE', id, before, after))
      }),
    delete: (id) =>
      inTransaction(pool, q, async (c) => {
        const before = await lockedItem(c, q, id)
        await expectOneRow(c.run(q.deleteItem, [id, TENANT]), 'delete')
        await c.run(q.insertEvent, events.params('DELETE', id, before, null))
      }),
  }
}
