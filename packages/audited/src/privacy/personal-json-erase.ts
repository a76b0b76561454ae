import type { EngineCore } from '../audit/engine-core.js'
import type { Entity } from '../audit/entity.js'
import { decodeRow, type Row } from '../audit/row-codec.js'
import type { AuditedWriter } from '../audit/write-scope.js'
import type { AuditContext } from '../core/audit-context.js'
import { isAuditedError } from '../core/errors.js'
import { memoRead, type PersonalReader } from './personal-json.js'

const PAGE = 500
/** Attempts per row when a concurrent write changes it between the read and the erase. */
const ATTEMPTS = 5

type Transact = <T>(ctx: AuditContext, fn: (tx: AuditedWriter) => Promise<T>) => Promise<T>

/**
 * Erasure of `personalJson` keys: which rows hold a subject's keys is decided per row, so
 * the tenant's rows of the entity are read in pages of the primary key and asked
 * (`fields`); each matching row gets the personal keys removed from its JSON value (action
 * `erase`, expecting the version it was read at; a row changed meanwhile is read again).
 * A scan of the tenant's table: erasure is rare, and no index can answer "whose keys".
 */
export async function erasePersonalJson(
  core: EngineCore,
  transaction: Transact,
  entity: Entity<object>,
  subjectId: string,
  ctx: AuditContext,
): Promise<number> {
  const json = entity.personalJson!
  const reader: PersonalReader = {
    kysely: core.kysely,
    read: memoRead(async (q) => (await core.kysely.executeQuery(q.compile())).rows as Row[]),
  }
  const erased = async (row: Row): Promise<Row | undefined> => {
    const fields = await json.fields(row, reader)
    const inner = row[json.column]
    if (fields?.subject !== subjectId || typeof inner !== 'object' || inner === null) return undefined
    const present = fields.keys.filter((k) => Object.hasOwn(inner, k) && (inner as Row)[k] !== null)
    if (present.length === 0) return undefined
    const rest = Object.fromEntries(Object.entries(inner).filter(([k]) => !present.includes(k)))
    return { [json.column]: rest }
  }
  const read = async (after: unknown, limit: number, only?: unknown): Promise<Row[]> => {
    let q = core.kysely.selectFrom(entity.table).selectAll().orderBy(entity.primaryKey).limit(limit)
    if (entity.tenantColumn !== undefined) q = q.where(entity.tenantColumn, '=', ctx.tenantId)
    if (only !== undefined) q = q.where(entity.primaryKey, '=', only)
    else if (after !== undefined) q = q.where(entity.primaryKey, '>', after)
    return (await q.execute()).map((raw: Record<string, unknown>) => decodeRow(entity, raw))
  }
  let rows = 0
  let after: unknown
  for (;;) {
    const page = await read(after, PAGE)
    for (let row of page) {
      const id = row[entity.primaryKey] as string | number
      for (let attempt = 1; ; attempt++) {
        const patch = await erased(row)
        if (patch === undefined) break
        const version = entity.versionColumn === undefined ? undefined : (row[entity.versionColumn] as number)
        try {
          await transaction(ctx, (tx) =>
            tx.update(entity, id, patch, {
              action: 'erase',
              ...(version === undefined ? {} : { expectedVersion: version }),
            }),
          )
          rows += 1
          break
        } catch (error) {
          if (isAuditedError(error) && error.code === 'not_found') break // deleted meanwhile
          if (attempt >= ATTEMPTS || !isAuditedError(error) || error.code !== 'conflict') throw error
          const [fresh] = await read(undefined, 1, id)
          if (fresh === undefined) break
          row = fresh
        }
      }
    }
    if (page.length < PAGE) return rows
    after = page.at(-1)![entity.primaryKey]
  }
}
