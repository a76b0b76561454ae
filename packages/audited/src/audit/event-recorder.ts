import type { Compilable } from 'kysely'
import type { AuditContext } from '../core/audit-context.js'
import { canonicalize, canonicalizeStored } from '../core/canonical-json.js'
import { AuditedError } from '../core/errors.js'
import type { Statement } from '../db/dialect.js'
import type { Transaction } from '../db/transaction.js'
import { encryptValue } from '../privacy/field-crypto.js'
import type { SubjectKey } from '../privacy/subject-keys.js'
import {
  type Action,
  eventValues,
  type JsonObject,
  type Operation,
  type PendingEvent,
} from './change-event.js'
import type { EngineCore } from './engine-core.js'
import type { Entity } from './entity.js'
import { eventState, type Row } from './row-codec.js'
import type { ScopeClock } from './scope-clock.js'
import { bindRows } from './statements.js'
import { changed } from './write-rules.js'

/**
 * The change events of one transaction: each write's event is built here, passed to the
 * before hooks (inside the transaction) and queued; `inserts()` stores them with COMMIT.
 */
export class EventRecorder {
  readonly #core: EngineCore
  readonly #tx: Transaction
  readonly #ctx: AuditContext
  readonly #clock: ScopeClock
  readonly txId: string
  readonly events: PendingEvent[] = []
  /** Statements before hooks queued for the COMMIT (`BeforeChange.defer`). */
  readonly deferred: Statement[] = []
  /** Stable across the attempts of one logical transaction (see `BeforeChange.transaction`). */
  readonly #logical: object
  #writes = 0
  /** Subject keys this transaction created (stored with its COMMIT). */
  readonly #newKeys = new Map<string, SubjectKey>()

  constructor(core: EngineCore, tx: Transaction, ctx: AuditContext, clock: ScopeClock, logical: object) {
    this.#core = core
    this.#tx = tx
    this.#ctx = ctx
    this.#clock = clock
    this.#logical = logical
    this.txId = core.newEventId()
  }

  /** Builds the event, runs the before hooks (inside the transaction), queues the event. */
  async record(
    entity: Entity<object>,
    operation: Operation,
    action: Action,
    before: Row | null,
    after: Row | null,
  ): Promise<void> {
    const pkValue = (after ?? before)![entity.primaryKey]
    // Rows as the database gave them: the written values were checked (strictly) on input.
    const oldCanonical = before === null ? null : (canonicalizeStored(before) as JsonObject)
    const newCanonical = after === null ? null : (canonicalizeStored(after) as JsonObject)
    const changedFields = changed(oldCanonical, newCanonical)
    const ctx = this.#ctx
    const wallDate = new Date()
    const event: PendingEvent = {
      eventId: this.#core.newEventId(),
      hlcValue: this.#clock.next(),
      wallDate,
      wallTime: wallDate.toISOString(),
      nodeId: this.#core.nodeId,
      tenantId: ctx.tenantId,
      txId: this.txId,
      table: entity.table,
      recordId: String(pkValue),
      operation,
      action,
      actorId: ctx.actorId,
      actorType: ctx.actorType,
      oldValues: await this.#personal(entity, before, after, eventState(entity, oldCanonical)),
      newValues: await this.#personal(entity, before, after, eventState(entity, newCanonical)),
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
    this.events.push(event)
  }

  /** `state` with the entity's personal columns encrypted under the subject's key. */
  async #personal(entity: Entity<object>, before: Row | null, after: Row | null, state: JsonObject | null) {
    if (state === null || entity.personal.size === 0) return state
    const keys = this.#core.subjectKeys
    if (keys === undefined)
      throw new AuditedError(
        'validation',
        `${entity.table} has personal columns: createAuditor needs personalData.masterKey.`,
      )
    const subject = (after ?? before)![entity.subject!]
    if (subject === null || subject === undefined) return state
    const key = await keys.forWrite(
      this.#tx,
      this.deferred,
      this.#newKeys,
      this.#ctx.tenantId,
      String(subject),
    )
    const out = { ...state }
    for (const column of entity.personal)
      if (Object.hasOwn(out, column) && out[column] !== null)
        out[column] = encryptValue(key.keyId, key.key, column, out[column])
    return out
  }

  /** The statements that store the events; sent with COMMIT. */
  inserts(): Statement[] {
    const st = this.#core.eventStatements
    const d = this.#core.dialect
    const out: Statement[] = []
    for (let start = 0; start < this.events.length; start += st.maxRows) {
      const chunk = this.events.slice(start, start + st.maxRows)
      const rows = chunk.map((e) => eventValues(e, d.bigintParameter, d.toParameter))
      const reserve = st.reserve(chunk.length)
      if (reserve !== undefined) out.push(reserve)
      out.push(bindRows(st.insert(chunk.length), rows))
    }
    return out
  }
}
