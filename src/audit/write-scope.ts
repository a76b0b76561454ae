import type { Compilable } from 'kysely'
import type { AuditContext } from '../core/audit-context.js'
import { canonicalize, canonicalizeStored } from '../core/canonical-json.js'
import { AuditedError, isAuditedError } from '../core/errors.js'
import type { Statement, StatementResult } from '../db/dialect.js'
import type { Transaction } from '../db/transaction.js'
import {
  type Action,
  type ChangeEvent,
  eventFromRow,
  eventValues,
  type JsonObject,
  type Operation,
  type PendingEvent,
} from './change-event.js'
import type { EngineCore } from './engine-core.js'
import type { Entity } from './entity.js'
import { decodeRow, encodeValues, eventState, type Row } from './row-codec.js'
import { bind, bindRows } from './statements.js'
import {
  changed,
  checkId,
  checkVersion,
  notFound,
  type RecordId,
  statusAction,
  unchanged,
  type WriteOptions,
} from './write-rules.js'

export type { RecordId, WriteOptions }

/**
 * The write methods, bound to one transaction. `auditor.transaction(ctx, tx => …)` hands
 * one to the caller; every single write runs in one of its own.
 */
export interface AuditedWriter {
  create<R extends object>(entity: Entity<R>, values: Partial<R>): Promise<R>
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
  readonly txId: string
  readonly events: PendingEvent[] = []
  /** The HLC this scope's next event must exceed although the clock could not be moved
   * there (a record's newest event from a clock far ahead); 0 when none. */
  #floor = 0n
  /** Statements before hooks queued for the COMMIT (`BeforeChange.defer`). */
  readonly deferred: Statement[] = []

  /** Stable across the attempts of one logical transaction (see `BeforeChange.transaction`). */
  readonly #logical: object
  #writes = 0

  constructor(core: EngineCore, tx: Transaction, ctx: AuditContext, logical: object = {}) {
    this.#core = core
    this.#tx = tx
    this.#ctx = ctx
    this.#logical = logical
    this.txId = core.newEventId()
  }

  /** Set when a write failed after sending statements: the transaction must not commit. */
  failure: unknown = undefined

  create<R extends object>(entity: Entity<R>, values: Partial<R>): Promise<R> {
    return this.#guard(() => this.#createOp(entity, values))
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

  async #createOp<R extends object>(entity: Entity<R>, values: Partial<R>): Promise<R> {
    const input = await this.#input(entity, values, 'create')
    return (await this.#insert(entity, input, 'create')) as R
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
            details: { row: i, ...e.details },
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
    for (const row of out) await this.#record(entity, 'INSERT', 'create', null, row)
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
    const input = await this.#input(entity, patch, 'update')
    // The locked current row first: a patch that changes no field writes nothing (no
    // event, no version bump) and returns the row as it is (issue 7 R6).
    const st = this.#core.statements(entity)
    const lookup = { lock: true, expectVersion: expected !== undefined }
    const [found] = await this.#tx.run([bind(st.select(lookup), this.#lookupArgs(entity, id, expected))])
    const current = this.#found(entity, id, found!.rows[0], expected)
    if (unchanged(entity, current, input)) return current as R
    return (await this.#update(entity, id, input, expected, undefined, current)) as R
  }

  async #deleteOp<R extends object>(entity: Entity<R>, id: RecordId, options?: WriteOptions): Promise<R> {
    checkId(id)
    const expected = checkVersion(options)
    const st = this.#core.statements(entity)
    const args = this.#lookupArgs(entity, id, expected)
    const [found, , last] = await this.#tx.run([
      bind(st.select({ lock: true }), args),
      bind(st.delete({ lock: true, expectVersion: expected !== undefined }), args),
      this.#lastHlc(entity, [id]),
    ])
    const before = this.#found(entity, id, found!.rows[0], expected)
    this.#observe(last!)
    await this.#record(entity, 'DELETE', 'delete', before, null)
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
    const event = raw === undefined ? undefined : eventFromRow(raw)
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
      return (await this.#update(entity, id, input, undefined, 'restore')) as R
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

  /** The statements that store this scope's events; sent with COMMIT. */
  eventInserts(): Statement[] {
    const st = this.#core.eventStatements
    const d = this.#core.dialect
    const out: Statement[] = []
    for (let start = 0; start < this.events.length; start += st.maxRows) {
      const chunk = this.events.slice(start, start + st.maxRows)
      const rows = chunk.map((e) => eventValues(e, d.bigintParameter, d.toParameter))
      out.push(bindRows(st.insert(chunk.length), rows))
    }
    return out
  }

  // -- internals ---------------------------------------------------------------------

  /** Checks and encodes caller values: known columns only, key/tenant/version managed here. */
  async #input(entity: Entity<object>, values: unknown, mode: 'create' | 'update'): Promise<Row> {
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new AuditedError('validation', 'Values must be an object of column values.')
    }
    const known = await this.#core.columnsOf(entity, this.#tx)
    const unknown = Object.keys(values).filter((k) => !known.has(k))
    if (unknown.length > 0) {
      throw new AuditedError('validation', `Unknown field(s) for ${entity.table}: ${unknown.join(', ')}.`, {
        details: { fields: unknown },
      })
    }
    const managed = [
      entity.versionColumn,
      ...(mode === 'update' ? [entity.primaryKey, entity.tenantColumn] : []),
    ]
    const given = Object.entries(values as Row).filter(([, v]) => v !== undefined)
    for (const [k] of given) {
      if (k !== undefined && managed.includes(k)) {
        throw new AuditedError('validation', `Field ${k} is managed by the engine and cannot be written.`, {
          details: { fields: [k] },
        })
      }
    }
    const input = encodeValues(entity, Object.fromEntries(given), this.#core.dialect)
    if (mode === 'create') {
      if (entity.tenantColumn) {
        const tenant = this.#requireTenant(entity)
        const givenTenant = input[entity.tenantColumn]
        if (givenTenant !== undefined && givenTenant !== tenant) {
          throw new AuditedError('validation', 'A record cannot be written into another tenant.', {
            details: { fields: [entity.tenantColumn] },
          })
        }
        input[entity.tenantColumn] = tenant
      }
      if (entity.versionColumn) input[entity.versionColumn] = 1
    }
    return input
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
        details: { expectedVersion: expected, currentVersion: before[entity.versionColumn] },
      })
    }
    return before
  }

  async #insert(entity: Entity<object>, input: Row, action: Action): Promise<Row> {
    const [row] = await this.#insertRows(entity, Object.keys(input), [input])
    await this.#record(entity, 'INSERT', action, null, row!)
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
          this.#lastHlc(
            entity,
            inputs.map((input) => input[pk] as RecordId),
          ),
        ]
      : []
    if (this.#core.dialect.supportsReturning) {
      const [r, last] = await this.#tx.run([insert, ...history])
      if (last !== undefined) this.#observe(last)
      raws = r!.rows
    } else if (columns.includes(pk)) {
      const keys: Record<string, unknown> = Object.fromEntries(inputs.map((input, i) => [`k${i}`, input[pk]]))
      if (entity.tenantColumn) keys.tenant = this.#requireTenant(entity)
      const [, r, last] = await this.#tx.run([insert, bind(st.selectKeys(inputs.length), keys), ...history])
      this.#observe(last!)
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
    action: Action | undefined,
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
    list.push(this.#lastHlc(entity, [id]))
    const results = await this.#tx.run(list)
    const before = locked ?? this.#found(entity, id, results[0]!.rows[0], expected)
    this.#observe(results.at(-1)!)
    // The row read back: RETURNING of the UPDATE, or the SELECT after it; then the last HLC.
    const raw = results.at(-2)!.rows[0]
    if (raw === undefined)
      throw new AuditedError('internal', `The updated ${entity.table} row could not be read back.`)
    const after = decodeRow(entity, raw)
    await this.#record(entity, 'UPDATE', action ?? statusAction(entity, before, after), before, after)
    return after
  }

  /** Reads the records' newest event HLC (after their row locks are taken). */
  #lastHlc(entity: Entity<object>, ids: readonly RecordId[]): Statement {
    const args: Record<string, unknown> = { table: entity.table }
    for (const [i, id] of ids.entries()) args[`k${i}`] = String(id)
    return bind(this.#core.eventStatements.lastHlc(ids.length), args)
  }

  /** Orders this scope's next events after a record's newest event (read under its lock).
   * A value the clock refuses (too far ahead, see `HlcClock.observe`) becomes this scope's
   * floor instead: its events still order after it, the process clock stays where it is. */
  #observe(result: StatementResult): void {
    const hlc = result.rows[0]?.hlc
    if (hlc === null || hlc === undefined) return
    const seen = BigInt(String(hlc))
    if (!this.#core.clock.observe(seen) && seen > this.#floor) this.#floor = seen
  }

  /** The next event's HLC: the clock's, or just above the floor when that is higher. */
  #nextHlc(): bigint {
    const h = this.#core.clock.now()
    if (h > this.#floor) return h
    this.#floor += 1n
    return this.#floor
  }

  /** Values of a past state that can be written back (not the key, tenant, version or masked fields). */
  #restorable(entity: Entity<object>, state: JsonObject): Row {
    const skip = new Set([entity.primaryKey, entity.tenantColumn, entity.versionColumn, ...entity.redact])
    return Object.fromEntries(Object.entries(state).filter(([k]) => !skip.has(k)))
  }

  /** Builds the event, runs the before hooks (inside the transaction), queues the event. */
  async #record(
    entity: Entity<object>,
    operation: Operation,
    action: Action,
    before: Row | null,
    after: Row | null,
  ) {
    const pkValue = (after ?? before)![entity.primaryKey]
    // Rows as the database gave them: the written values were checked (strictly) on input.
    const oldCanonical = before === null ? null : (canonicalizeStored(before) as JsonObject)
    const newCanonical = after === null ? null : (canonicalizeStored(after) as JsonObject)
    const changedFields = changed(oldCanonical, newCanonical)
    const ctx = this.#ctx
    const hlcValue = this.#nextHlc()
    const event: PendingEvent = {
      eventId: this.#core.newEventId(),
      hlcValue,
      wallDate: new Date(),
      wallTime: '',
      nodeId: this.#core.nodeId,
      tenantId: ctx.tenantId,
      txId: this.txId,
      table: entity.table,
      recordId: String(pkValue),
      operation,
      action,
      actorId: ctx.actorId,
      actorType: ctx.actorType,
      oldValues: eventState(entity, oldCanonical),
      newValues: eventState(entity, newCanonical),
      changedFields,
      requestId: ctx.requestId ?? null,
      ip: ctx.ip ?? null,
      userAgent: ctx.userAgent ?? null,
      reason: ctx.reason ?? null,
      metadata: ctx.metadata === undefined ? null : (canonicalize(ctx.metadata, 'metadata') as JsonObject),
    }
    await this.#core.runBeforeHooks({
      operation,
      action,
      table: entity.table,
      recordId: event.recordId,
      before,
      after,
      changedFields,
      ctx,
      read: async <R>(query: Compilable) => {
        const { sql, parameters } = query.compile()
        const [r] = await this.#tx.run([{ sql, parameters }], { readOnly: true })
        return r!.rows as R[]
      },
      defer: (query: Compilable) => {
        const { sql, parameters } = query.compile()
        this.deferred.push({ sql, parameters })
      },
      transaction: this.#logical,
      writeIndex: this.#writes++,
    })
    this.events.push({ ...event, wallTime: event.wallDate.toISOString() })
  }
}

export type { ChangeEvent }
