import type { AuditedDatabase } from 'audited'
import { AuditedError } from 'audited'
import { Type } from 'typebox'

/** Record ids and timestamps moved to the CMS domain; re-exported for the routes and tests. */
export { created, newRecordId, touched } from '../cms/records.js'

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

/**
 * A stored row as the API shows it: camelCase keys, dates as ISO strings, without the
 * tenant column and without `omit` (secrets).
 */
export function present(row: object, omit: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) {
    if (key === 'tenant_id' || omit.includes(key)) continue
    out[camel(key)] = value instanceof Date ? value.toISOString() : value
  }
  return out
}

/** Query string of every list route. `limit` is a digit string: query strings are text and
 * the app's validator does not coerce types (so JSON bodies stay strictly typed). */
export const PageQuery = {
  after: Type.Optional(Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' })),
  limit: Type.Optional(Type.String({ pattern: '^(200|1[0-9]{2}|[1-9][0-9]?)$' })),
}

export const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' }) })

/**
 * One page of a tenant's records, keyed on the ULID `id` (ascending), with optional
 * equality filters. `nextCursor` is the last id when more may follow.
 */
export async function listPage(
  db: AuditedDatabase,
  table: string,
  tenantId: string,
  page: { after?: string | undefined; limit?: number | string | undefined },
  filters: Record<string, string | undefined> = {},
): Promise<{ rows: Record<string, unknown>[]; nextCursor: string | null }> {
  const limit = page.limit === undefined ? 50 : Number(page.limit)
  let q = db.readKysely.selectFrom(table).selectAll().where('tenant_id', '=', tenantId)
  for (const [column, value] of Object.entries(filters))
    if (value !== undefined) q = q.where(column, '=', value)
  if (page.after !== undefined) q = q.where('id', '>', page.after)
  const rows = (await q
    .orderBy('id')
    .limit(limit + 1)
    .execute()) as Record<string, unknown>[]
  const more = rows.length > limit
  const pageRows = rows.slice(0, limit)
  return { rows: pageRows, nextCursor: more ? String(pageRows.at(-1)?.id) : null }
}

/** One tenant record by id, or `not_found` (also for another tenant's record). */
export async function getOne(
  db: AuditedDatabase,
  table: string,
  tenantId: string,
  id: string,
): Promise<Record<string, unknown>> {
  const row = await db.readKysely
    .selectFrom(table)
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (row === undefined) throw new AuditedError('not_found', 'No such record.', { details: { id } })
  return row as Record<string, unknown>
}
