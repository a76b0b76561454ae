import type { AuditedDatabase } from 'audited'
import { CompiledQuery } from 'kysely'

/** The filters and page of `GET /api/v1/entries/:type` (limit as the query string has it). */
export interface EntryListQuery {
  readonly after?: string | undefined
  readonly limit?: number | string | undefined
  readonly status?: string | undefined
  readonly locale?: string | undefined
}

export interface EntryPage {
  /** Rows as the driver reads them (decode with the `entries` entity). */
  readonly rows: Record<string, unknown>[]
  /** The last id of the page when more may follow. */
  readonly nextCursor: string | null
}

const DEFAULT_LIMIT = 50

/** One statement per filter shape, compiled once per database: lists are hot reads. */
const compiled = new WeakMap<AuditedDatabase, Map<string, string>>()

function statement(db: AuditedDatabase, status: boolean, locale: boolean, after: boolean): string {
  let shapes = compiled.get(db)
  if (shapes === undefined) {
    shapes = new Map()
    compiled.set(db, shapes)
  }
  const key = `${status}:${locale}:${after}`
  let text = shapes.get(key)
  if (text === undefined) {
    // Parameters in this order: tenant, type, status?, locale?, after?, limit.
    let q = db.readKysely.selectFrom('entries').selectAll().where('tenant_id', '=', '').where('type', '=', '')
    if (status) q = q.where('status', '=', '')
    if (locale) q = q.where('locale', '=', '')
    if (after) q = q.where('id', '>', '')
    text = q.orderBy('id').limit(0).compile().sql
    shapes.set(key, text)
  }
  return text
}

/**
 * One page of a tenant's entries of one type, in id (ULID, so creation) order, keyed on
 * the id: `after` is the last id of the previous page. Every shape has an index in its
 * order (CMS migrations 1000 and 1003: tenant, type[, status | locale], id), so a page
 * reads `limit + 1` index entries however many entries the type holds — with both
 * `status` and `locale`, the status index is walked and locale filtered on the way.
 */
export async function listEntries(
  db: AuditedDatabase,
  tenantId: string,
  type: string,
  query: EntryListQuery,
): Promise<EntryPage> {
  const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit)
  const parameters: unknown[] = [tenantId, type]
  if (query.status !== undefined) parameters.push(query.status)
  if (query.locale !== undefined) parameters.push(query.locale)
  if (query.after !== undefined) parameters.push(query.after)
  parameters.push(limit + 1)
  const text = statement(
    db,
    query.status !== undefined,
    query.locale !== undefined,
    query.after !== undefined,
  )
  const { rows } = await db.readKysely.executeQuery<Record<string, unknown>>(
    CompiledQuery.raw(text, parameters),
  )
  const more = rows.length > limit
  const page = more ? rows.slice(0, limit) : [...rows]
  return { rows: page, nextCursor: more ? String(page.at(-1)?.id) : null }
}
