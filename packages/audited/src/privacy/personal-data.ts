import { CompiledQuery } from 'kysely'
import type { ChangeEvent, JsonObject } from '../audit/change-event.js'
import type { EngineCore } from '../audit/engine-core.js'
import type { Entity } from '../audit/entity.js'
import { REDACTED } from '../audit/row-codec.js'
import type { AuditedWriter } from '../audit/write-scope.js'
import type { AuditContext } from '../core/audit-context.js'
import { AuditedError } from '../core/errors.js'
import type { Feed } from '../feed/feed.js'
import { envelopeKeyId } from './field-crypto.js'
import { openEvents } from './open-events.js'
import { envelopesOf, isSubjectId } from './personal-json.js'
import { erasePersonalJson } from './personal-json-erase.js'
import type { SubjectKeys } from './subject-keys.js'

export interface EraseResult {
  /** Rows whose personal columns were blanked or personal JSON keys removed (one `erase`
   * event each). */
  readonly rows: number
  /** Subject keys destroyed. */
  readonly keys: number
}

const PAGE = 1000

/**
 * GDPR erasure and access for data subjects (`auditor.privacy`). Erasing blanks the personal
 * columns of the subject's current rows (an audited `erase` write each) and destroys the
 * subject's keys: every personal value in history then reads `"[erased]"`, while the events
 * themselves — and the Merkle log over them — are untouched, so `verify` still passes.
 */
export class PersonalData {
  readonly #core: EngineCore
  readonly #feed: Feed
  readonly #transaction: <T>(ctx: AuditContext, fn: (tx: AuditedWriter) => Promise<T>) => Promise<T>

  constructor(
    core: EngineCore,
    feed: Feed,
    transaction: <T>(ctx: AuditContext, fn: (tx: AuditedWriter) => Promise<T>) => Promise<T>,
  ) {
    this.#core = core
    this.#feed = feed
    this.#transaction = transaction
  }

  #keys(): SubjectKeys {
    const keys = this.#core.subjectKeys
    if (keys === undefined)
      throw new AuditedError(
        'validation',
        'Personal data needs createAuditor({ personalData: { masterKey } }).',
      )
    return keys
  }

  /**
   * Refuses (`validation`) a master key that does not open the subject keys the database
   * already holds — another key than the one they were written with: every read of a
   * personal event and every write of an existing subject would fail. Run it at start-up.
   */
  async checkMasterKey(): Promise<void> {
    if (!(await this.#keys().opensStored()))
      throw new AuditedError(
        'validation',
        'personalData.masterKey does not open the subject keys stored in this database (they were written with another master key).',
        { details: { field: 'personalData.masterKey' } },
      )
  }

  /** Personal values of stored events decrypted (or `"[erased]"`), for readers of the feed. */
  open<E extends ChangeEvent>(events: E[]): Promise<E[]> {
    return openEvents(this.#core.subjectKeys, events)
  }

  /**
   * Erases subject `subjectId` of the caller's tenant: in `entities`, every row whose subject
   * column names it gets its personal columns set to null, and every row whose
   * `personalJson.fields` names it gets those keys removed from its JSON value (action
   * `erase`; a scan of the tenant's rows); then the subject's keys are destroyed.
   * Idempotent: run it again after a failure.
   */
  async erase(
    subjectId: string,
    entities: readonly Entity<object>[],
    ctx: AuditContext,
  ): Promise<EraseResult> {
    const keys = this.#keys()
    if (!isSubjectId(subjectId))
      throw new AuditedError('validation', 'A subject id is 1 to 255 characters.', {
        details: { field: 'subjectId' },
      })
    let rows = 0
    for (const entity of entities) {
      if (entity.personalJson !== undefined)
        rows += await erasePersonalJson(this.#core, this.#transaction, entity, subjectId, ctx)
      if (entity.personal.size === 0) continue
      let q = this.#core.kysely
        .selectFrom(entity.table)
        .select(entity.primaryKey)
        .where(entity.subject!, '=', subjectId)
      if (entity.tenantColumn !== undefined) q = q.where(entity.tenantColumn, '=', ctx.tenantId)
      const ids = (await q.execute()).map(
        (r: Record<string, unknown>) => r[entity.primaryKey] as string | number,
      )
      const blank = Object.fromEntries([...entity.personal].map((c) => [c, null]))
      for (const id of ids) {
        await this.#transaction(ctx, async (tx) => {
          await tx.update(entity, id, blank, { action: 'erase' })
        })
        rows += 1
      }
    }
    const ids = await keys.idsOf(ctx.tenantId, subjectId)
    const destroy = keys.destroyStatement(ctx.tenantId, subjectId)
    await this.#core.kysely.executeQuery(CompiledQuery.raw(destroy.sql, [...destroy.parameters]))
    keys.forget(ctx.tenantId, subjectId, ids)
    for (const statement of this.#core.dialect.afterEraseSql ?? [])
      await this.#core.kysely.executeQuery(CompiledQuery.raw(statement))
    return { rows, keys: ids.length }
  }

  /** Every event of the tenant holding a personal value of the subject, its values decrypted
   * (for an access request; after an erasure it finds none); another subject's personal
   * values in the same event read `"[redacted]"`. Reads the tenant's feed. */
  async export(tenantId: string | null, subjectId: string): Promise<ChangeEvent[]> {
    const keys = this.#keys()
    const ids = new Set(await keys.idsOf(tenantId, subjectId))
    if (ids.size === 0) return []
    const mine = (e: ChangeEvent) =>
      [e.oldValues, e.newValues].some((s) =>
        [...envelopesOf(s)].some(({ value }) => ids.has(envelopeKeyId(value) ?? '')),
      )
    const out: ChangeEvent[] = []
    let after: string | undefined
    for (;;) {
      const page = await this.#feed.read({ tenantId, limit: PAGE, ...(after === undefined ? {} : { after }) })
      out.push(...page.events.filter(mine))
      if (page.events.length < PAGE) break
      after = page.cursor
    }
    // Only this subject's values are opened: an event may also hold another subject's (an
    // entry moved between subjects), and those are not this subject's to receive.
    const others = (state: JsonObject | null): JsonObject | null => {
      if (state === null) return null
      const hide = (v: unknown) => {
        const id = envelopeKeyId(v)
        return id !== undefined && !ids.has(id)
      }
      const outState: JsonObject = {}
      for (const [column, value] of Object.entries(state)) {
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
          outState[column] = Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, hide(v) ? REDACTED : v]),
          ) as JsonObject[string]
        } else outState[column] = hide(value) ? REDACTED : value
      }
      return outState
    }
    return openEvents(
      keys,
      out.map((e) => ({ ...e, oldValues: others(e.oldValues), newValues: others(e.newValues) })),
    )
  }
}
