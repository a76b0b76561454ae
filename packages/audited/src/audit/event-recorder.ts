import type { Compilable } from 'kysely'
import type { AuditContext } from '../core/audit-context.js'
import { canonicalize, canonicalizeStored } from '../core/canonical-json.js'
import { AuditedError } from '../core/errors.js'
import type { Statement } from '../db/dialect.js'
import type { Transaction } from '../db/transaction.js'
import { encryptJson } from '../privacy/field-crypto.js'
import { isSubjectId, memoRead, type PersonalReader, sealJsonKeys } from '../privacy/personal-json.js'
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

/** One event's encrypted personal columns, by column. */
type Sealed = Map<string, { keyId: string; json: string; envelope: string }>

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
  #personalReader: PersonalReader | undefined

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
    const sealed: Sealed = new Map()
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
      oldValues: await this.#personal(entity, before, eventState(entity, oldCanonical), sealed),
      newValues: await this.#personal(
        entity,
        after,
        eventState(entity, newCanonical),
        sealed,
        before === null,
      ),
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

  /** `state` (of `row`) with the entity's personal columns, and the personal keys of its
   * `personalJson` column, encrypted under the subject's key. A column an update left as it
   * was gets the same envelope in both states (`sealed`): one encryption, and the equality
   * it shows is already in `changedFields`. */
  async #personal(
    entity: Entity<object>,
    row: Row | null,
    state: JsonObject | null,
    sealed: Sealed,
    inserted = false,
  ) {
    if (state === null || row === null) return state
    if (entity.personal.size === 0 && entity.personalJson === undefined) return state
    let out = state
    const subject = entity.subject === undefined ? undefined : row[entity.subject]
    if (subject !== null && subject !== undefined) {
      // A row inserted as its own subject (`subject` is its primary key) is a new subject:
      // its key is made without looking for one (a second key of a subject is allowed, and
      // erasing destroys every key of the subject).
      const key = await this.#keyOf(entity, String(subject), inserted && entity.subject === entity.primaryKey)
      out = { ...state }
      for (const column of entity.personal) {
        if (!Object.hasOwn(out, column) || out[column] === null) continue
        const json = JSON.stringify(out[column])
        const before = sealed.get(column)
        if (before !== undefined && before.keyId === key.keyId && before.json === json) {
          out[column] = before.envelope
          continue
        }
        const envelope = encryptJson(key.keyId, key.key, column, json)
        sealed.set(column, { keyId: key.keyId, json, envelope })
        out[column] = envelope
      }
    }
    const json = entity.personalJson
    if (json === undefined) return out
    const fields = await json.fields(row, this.#reader)
    if (fields === undefined || fields.keys.length === 0) return out
    if (!isSubjectId(fields.subject))
      throw new AuditedError(
        'internal',
        `${entity.table}: personalJson.fields named no subject (1 to 255 characters).`,
      )
    return sealJsonKeys(out, json.column, fields.keys, await this.#keyOf(entity, fields.subject))
  }

  /** Subject keys this transaction created: the auditor caches them once it committed. */
  get newKeys(): ReadonlyMap<string, SubjectKey> {
    return this.#newKeys
  }

  async #keyOf(entity: Entity<object>, subject: string, fresh = false): Promise<SubjectKey> {
    const keys = this.#core.subjectKeys
    if (keys === undefined)
      throw new AuditedError(
        'validation',
        `${entity.table} has personal data: createAuditor needs personalData.masterKey.`,
      )
    return keys.forWrite(this.#tx, this.deferred, this.#newKeys, this.#ctx.tenantId, subject, fresh)
  }

  /** Reads of `personalJson.fields`, in this transaction, each query once. */
  get #reader(): PersonalReader {
    this.#personalReader ??= {
      kysely: this.#core.kysely,
      read: memoRead(async (query) => {
        const { sql, parameters } = query.compile()
        const [r] = await this.#tx.run([{ sql, parameters }], { readOnly: true })
        return r!.rows as Record<string, unknown>[]
      }),
    }
    return this.#personalReader
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
