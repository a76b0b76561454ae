import type { AuditContext } from '../core/audit-context.js'
import { AuditedError, type ErrorDetails, isAuditedError } from '../core/errors.js'
import type { Transaction } from '../db/transaction.js'
import { openEvents } from '../privacy/open-events.js'
import { type Action, type ChangeEvent, eventFromRow, type JsonObject } from './change-event.js'
import type { EngineCore } from './engine-core.js'
import type { Entity } from './entity.js'
import { EventRecorder } from './event-recorder.js'
import { decodeRow, type Row } from './row-codec.js'
import { ScopeClock } from './scope-clock.js'
import { bind, bindRows } from './statements.js'
import { writeInput } from './write-input.js'
import {
  type CreateOptions,
  checkAction,
  checkId,
  checkVersion,
  notFound,
  type OperationAction,
  type RecordId,
  statusAction,
  unchanged,
  type WriteOptions,
} from './write-rules.js'

export type { CreateOptions, RecordId, WriteOptions }

/**
 * The write methods, bound to one transaction. `auditor.transaction(ctx, tx => …)` hands
 * one to the caller; every single write runs in one of its own.
 */
export interface AuditedWriter {
  create<R extends object>(entity: Entity<R>, values: Partial<R>, options?: CreateOptions): Promise<R>
  update<R extends object>(
    entity: Entity<R>,
    id: RecordId,
    patch: Partial<R>,
    options?: WriteOptions,
  ): Promise<R>
  delete<R extends object>(entity: Entity<R>, id: RecordId, options?: WriteOptions): Promise<R>
  restore<R extends object>(entity: Entity<R>, id: RecordId, eventId: string): Promise<R>
  createMany<R extends object>(entity: Entity<R>, rows: readonly Partial<R>[]): Promise<R[]>
}

export class WriteScope implements AuditedWriter {
  readonly #core: EngineCore
  readonly #tx: Transaction
  readonly #ctx: AuditContext
  readonly #clock: ScopeClock
  /** The transaction's change events, queued for the COMMIT. */
  readonly recorder: EventRecorder

  constructor(core: EngineCore, tx: Transaction, ctx: AuditContext, logical: object = {}) {
    this.#core = core
    this.#tx = tx
    this.#ctx = ctx
    this.#clock = new ScopeClock(core)
    this.recorder = new EventRecorder(core, tx, ctx, this.#clock, logical)
  }

  /** Set when a write failed after sending statements: the transaction must not commit. */
  failure: unknown = undefined

  create<R extends object>(entity: Entity<R>, values: Partial<R>, options?: CreateOptions): Promise<R> {
    return this.#guard(() => this.#createOp(entity, values, options))
  }

  createMany<R extends object>(entity: Entity<R>, rows: readonly Partial<R>[]): Promise<R[]> {
    return this.#guard(() => this.#createManyOp(entity, rows))
  }

  update<R extends object>(
    entity: Entity<R>,
    id: RecordId,
    patch: Partial<R>,
    options?: WriteOptions,
  ): Promise<R> {
    return this.#guard(() => this.#updateOp(entity, id, patch, options))
  }

  delete<R extends object>(entity: Entity<R>, id: RecordId, options?: WriteOptions): Promise<R> {
    return this.#guard(() => this.#deleteOp(entity, id, options))
  }

  restore<R extends object>(entity: Entity<R>, id: RecordId, eventId: string): Promise<R> {
    return this.#guard(() => this.#restoreOp(entity, id, eventId))
  }

  /** Runs one write; a failure after statements were sent poisons the scope. A failure
   * before any statement (bad input) leaves the transaction usable. */
  async #guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.failure !== undefined) throw this.failure
    const sentBefore = this.#tx.sent
    try {
      return await op()
    } catch (e) {
      if (this.#tx.sent !== sentBefore) this.failure = e
      throw e
    }
  }

  async #createOp<R extends object>(
    entity: Entity<R>,
    values: Partial<R>,
    options?: CreateOptions,
  ): Promise<R> {
    const action = checkAction(options) ?? 'create'
    const input = await this.#input(entity, values, 'create')
    return (await this.#insert(entity, input, action)) as R
  }

  async #createManyOp<R extends object>(entity: Entity<R>, rows: readonly Partial<R>[]): Promise<R[]> {
    if (!Array.isArray(rows)) throw new AuditedError('validation', 'createMany takes an array of rows.')
    const inputs: Row[] = []
    for (const [i, values] of rows.entries()) {
      try {
        inputs.push(await this.#input(entity, values, 'create'))
      } catch (e) {
        if (isAuditedError(e) && e.code === 'validation') {
          throw new AuditedError('validation', `Row ${i}: ${e.message}`, {
            details: { row: i, ...(e.details as ErrorDetails<'validation'> | undefined) },
          })
        }
        throw e
      }
    }
    // Rows with the same columns share multi-row INSERTs; results keep the input order.
    const out: Row[] = new Array(inputs.length)
    const groups = new Map<string, number[]>()
    for (const [i, input] of inputs.entries()) {
      const key = Object.keys(input).join(',')
      const group = groups.get(key)
      if (group === undefined) groups.set(key, [i])
      else group.push(i)
    }
    for (const indexes of groups.values()) {
      const columns = Object.keys(inputs[indexes[0]!]!)
      const per = Math.max(1, Math.min(1000, Math.floor(this.#core.dialect.maxParameters / columns.length)))
      for (let start = 0; start < indexes.length; start += per) {
        const chunk = indexes.slice(start, start + per)
        const stored = await this.#insertRows(
          entity,
          columns,
          chunk.map((i) => inputs[i]!),
        )
        for (const [j, row] of stored.entries()) out[chunk[j]!] = row
      }
    }
    for (const row of out) await this.recorder.record(entity, 'INSERT', 'create', null, row)
    return out as R[]
  }

  async #updateOp<R extends object>(
    entity: Entity<R>,
    id: RecordId,
    patch: Partial<R>,
    options?: WriteOptions,
  ): Promise<R> {
    checkId(id)
    const expected = checkVersion(options)
    const otherwise = checkAction(options) ?? 'update'
    const input = await this.#input(entity, patch, 'update')
    // The locked current row first: a patch that changes no field writes nothing (no
    // event, no version bump) and returns the row as it is (issue 7 R6).
    const st = this.#core.statements(entity)
    const lookup = { lock: true, expectVersion: expected !== undefined }
    const [found] = await this.#tx.run([bind(st.select(lookup), this.#lookupArgs(entity, id, expected))])
    const current = this.#found(entity, id, found!.rows[0], expected)
    if (unchanged(entity, current, input)) return current as R
    return (await this.#update(entity, id, input, expected, otherwise, current)) as R
  }

  async #deleteOp<R extends object>(entity: Entity<R>, id: RecordId, options?: WriteOptions): Promise<R> {
    checkId(id)
    const expected = checkVersion(options)
    const st = this.#core.statements(entity)
    const args = this.#lookupArgs(entity, id, expected)
    const [found, , last] = await this.#tx.run([
      bind(st.select({ lock: true }), args),
      bind(st.delete({ lock: true, expectVersion: expected !== undefined }), args),
      this.#clock.lastHlc(entity, [id]),
    ])
    const before = this.#found(entity, id, found!.rows[0], expected)
    this.#clock.observe(last!)
    await this.recorder.record(entity, 'DELETE', 'delete', before, null)
    return before as R
  }

  async #restoreOp<R extends object>(entity: Entity<R>, id: RecordId, eventId: string): Promise<R> {
    checkId(id)
    if (typeof eventId !== 'string' || !/^[0-9A-HJKMNP-TV-Z]{26}$/.test(eventId)) {
      throw new AuditedError('validation', 'eventId must be an event id (a ULID).')
    }
    const events = this.#core.eventStatements
    const [byId] = await this.#tx.run([bind(events.byId(), { eventId })])
    const raw = byId!.rows[0]
    const event =
      raw === undefined ? undefined : (await openEvents(this.#core.subjectKeys, [eventFromRow(raw)]))[0]
    if (
      event === undefined ||
      event.table !== entity.table ||
      event.recordId !== String(id) ||
      (entity.tenantColumn !== undefined && event.tenantId !== this.#ctx.tenantId)
    ) {
      throw new AuditedError('not_found', 'No event with that id for this record.', { details: { eventId } })
    }
    if (event.newValues === null) {
      throw new AuditedError('validation', 'The record did not exist after that event; delete it instead.', {
        details: { eventId },
      })
    }
    const target = this.#restorable(entity, event.newValues)
    const st = this.#core.statements(entity)
    const [current] = await this.#tx.run([
      bind(st.select({ lock: true }), this.#lookupArgs(entity, id, undefined)),
    ])
    if (current!.rows[0] !== undefined) {
      const input = await this.#input(entity, target, 'update')
      return (await this.#update(entity, id, input, undefined, { always: 'restore' })) as R
    }
    const input = await this.#input(entity, { ...target, [entity.primaryKey]: id }, 'create')
    if (entity.versionColumn) {
      const withTenant = entity.tenantColumn !== undefined
      const [last] = await this.#tx.run([
        bind(events.lastOfRecord(withTenant), {
          table: entity.table,
          recordId: String(id),
          ...(withTenant ? { tenant: this.#ctx.tenantId } : {}),
        }),
      ])
      const lastEvent = last!.rows[0] === undefined ? undefined : eventFromRow(last!.rows[0])
      const lastVersion = Number(lastEvent?.oldValues?.[entity.versionColumn] ?? 0)
      input[entity.versionColumn] = (Number.isSafeInteger(lastVersion) ? lastVersion : 0) + 1
    }
    return (await this.#insert(entity, input, 'restore')) as R
  }

  // -- internals ---------------------------------------------------------------------

  #input(entity: Entity<object>, values: unknown, mode: 'create' | 'update'): Promise<Row> {
    return writeInput(this.#core, this.#tx, entity, values, mode, () => this.#requireTenant(entity))
  }

  #requireTenant(entity: Entity<object>): string {
    if (this.#ctx.tenantId === null) {
      throw new AuditedError('validation', `${entity.table} belongs to tenants: ctx.tenantId is required.`)
    }
    return this.#ctx.tenantId
  }

  #lookupArgs(entity: Entity<object>, id: RecordId, expected: number | undefined): Record<string, unknown> {
    const args: Record<string, unknown> = { id }
    if (entity.tenantColumn) args.tenant = this.#requireTenant(entity)
    if (expected !== undefined) args.expected = expected
    return args
  }

  /** The locked before-state, or `not_found` / `conflict`. */
  #found(
    entity: Entity<object>,
    id: RecordId,
    raw: Record<string, unknown> | undefined,
    expected: number | undefined,
  ): Row {
    if (raw === undefined) throw notFound(entity, id)
    const before = decodeRow(entity, raw)
    if (expected !== undefined && entity.versionColumn && before[entity.versionColumn] !== expected) {
      throw new AuditedError('conflict', 'The record changed since it was read.', {
        details: {
          reason: 'version',
          expectedVersion: expected,
          currentVersion: before[entity.versionColumn],
        },
      })
    }
    return before
  }

  async #insert(entity: Entity<object>, input: Row, action: Action): Promise<Row> {
    const [row] = await this.#insertRows(entity, Object.keys(input), [input])
    await this.recorder.record(entity, 'INSERT', action, null, row!)
    return row!
  }

  /** One multi-row INSERT and the stored rows read back, in input order. */
  async #insertRows(entity: Entity<object>, columns: string[], inputs: Row[]): Promise<Row[]> {
    const st = this.#core.statements(entity)
    const pk = entity.primaryKey
    const insert = bindRows(
      st.insert(columns, inputs.length),
      inputs.map((input) => columns.map((c) => input[c])),
    )
    let raws: Record<string, unknown>[]
    // A key given by the caller may have history (a record deleted and re-created).
    const history = columns.includes(pk)
      ? [
          this.#clock.lastHlc(
            entity,
            inputs.map((input) => input[pk] as RecordId),
          ),
        ]
      : []
    if (this.#core.dialect.supportsReturning) {
      const [r, last] = await this.#tx.run([insert, ...history])
      if (last !== undefined) this.#clock.observe(last)
      raws = r!.rows
    } else if (columns.includes(pk)) {
      const keys: Record<string, unknown> = Object.fromEntries(inputs.map((input, i) => [`k${i}`, input[pk]]))
      if (entity.tenantColumn) keys.tenant = this.#requireTenant(entity)
      const [, r, last] = await this.#tx.run([insert, bind(st.selectKeys(inputs.length), keys), ...history])
      this.#clock.observe(last!)
      const byKey = new Map(r!.rows.map((row) => [String(row[pk]), row]))
      raws = inputs.map((input) => byKey.get(String(input[pk])) as Record<string, unknown>)
    } else {
      // Generated keys: each row's INSERT is followed by its read-back, all in one round trip.
      const list = inputs.flatMap((input) => [
        bindRows(st.insert(columns, 1), [columns.map((c) => input[c])]),
        bind(st.selectLastInsert(), {}),
      ])
      const results = await this.#tx.run(list)
      raws = inputs.map((_, i) => {
        // The last insert id is only this INSERT's key if it generated one (AUTO_INCREMENT);
        // otherwise it still holds an earlier insert's and must not be trusted.
        const generated = results[2 * i]!.insertId
        const row = results[2 * i + 1]!.rows[0]
        if (
          generated === undefined ||
          Number(generated) === 0 ||
          row === undefined ||
          String(row[pk]) !== String(generated)
        ) {
          throw new AuditedError(
            'validation',
            `${entity.table}: give the key "${pk}" in the values; only AUTO_INCREMENT keys can be generated here.`,
          )
        }
        if (entity.tenantColumn && row[entity.tenantColumn] !== this.#ctx.tenantId) {
          throw new AuditedError('internal', `An inserted ${entity.table} row read back in another tenant.`)
        }
        return row
      })
    }
    if (raws.length !== inputs.length || raws.some((r) => r === undefined)) {
      throw new AuditedError('internal', `Inserted ${entity.table} rows could not be read back.`)
    }
    return raws.map((raw) => decodeRow(entity, raw))
  }

  async #update(
    entity: Entity<object>,
    id: RecordId,
    input: Row,
    expected: number | undefined,
    /** `update` / `restore`: recorded unless the status changed (publish / unpublish);
     * `{ always }`: recorded whatever changed. */
    action: 'update' | OperationAction | { always: Action },
    /** The before-state, when the caller already read it under the row lock. */
    locked?: Row,
  ): Promise<Row> {
    const st = this.#core.statements(entity)
    const args = this.#lookupArgs(entity, id, expected)
    const columns = Object.keys(input)
    for (const c of columns) args[`v:${c}`] = input[c]
    const lookup = { lock: true, expectVersion: expected !== undefined }
    // Without a locked before-state, it is read (and locked) in the write's round trip.
    const list = locked === undefined ? [bind(st.select(lookup), args)] : []
    list.push(bind(st.update(columns, lookup), args))
    const returning = this.#core.dialect.supportsReturning
    if (!returning) list.push(bind(st.select({ lock: false }), args))
    list.push(this.#clock.lastHlc(entity, [id]))
    const results = await this.#tx.run(list)
    const before = locked ?? this.#found(entity, id, results[0]!.rows[0], expected)
    this.#clock.observe(results.at(-1)!)
    // The row read back: RETURNING of the UPDATE, or the SELECT after it; then the last HLC.
    const raw = results.at(-2)!.rows[0]
    if (raw === undefined)
      throw new AuditedError('internal', `The updated ${entity.table} row could not be read back.`)
    const after = decodeRow(entity, raw)
    await this.recorder.record(
      entity,
      'UPDATE',
      typeof action === 'object' ? action.always : statusAction(entity, before, after, action),
      before,
      after,
    )
    return after
  }

  /** Values of a past state that can be written back (not the key, tenant, version or masked fields). */
  #restorable(entity: Entity<object>, state: JsonObject): Row {
    const skip = new Set([entity.primaryKey, entity.tenantColumn, entity.versionColumn, ...entity.redact])
    return Object.fromEntries(Object.entries(state).filter(([k]) => !skip.has(k)))
  }
}

export type { ChangeEvent }
