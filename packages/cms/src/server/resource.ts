import type { AuditedDatabase } from 'audited'
import { AuditedError } from 'audited'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { CMS_ENTITIES } from '../cms/entities.js'

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

/**
 * A record of an audited CMS table as its resource shows it — the single mapping from
 * stored columns (`created_at`, `tenant_id`, secrets) to the API's fields (`createdAt`, no
 * tenant, no secrets). Used for the answers of restore and of the state at a point in time,
 * so a state reads like the resource it describes.
 */
export function presentRecord(table: keyof typeof CMS_ENTITIES, values: object): Record<string, unknown> {
  const shown = present(values, [...CMS_ENTITIES[table].redact])
  // A BIGINT travels as a decimal string; the media resource shows the number it accepted.
  if (table === 'media' && shown.size !== undefined) return { ...shown, size: Number(shown.size) }
  // A legal hold names the `table` it covers (the column is `table_name`).
  if (table === 'legal_holds' && 'tableName' in shown) {
    const { tableName, ...rest } = shown
    return { ...rest, table: tableName }
  }
  return shown
}

/** Query string of every record list: an integer `limit` (src/server/query-integers.ts
 * converts its digits) and the `after` cursor (the previous page's `nextCursor`). */
export const PageQuery = {
  after: Type.Optional(
    Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$', description: 'nextCursor of the previous page' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Page size (default 50)' })),
}

/** A name: at least one non-space character, so a name is never blank. */
export const NameSchema = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })

export const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' }) })

/**
 * One page of a tenant's records, keyed on the ULID `id` (ascending), with optional
 * equality filters. `nextCursor` is the last id when more may follow.
 */
export async function listPage(
  db: AuditedDatabase,
  table: string,
  tenantId: string,
  page: { after?: string | undefined; limit?: number | undefined },
  filters: Record<string, string | undefined> = {},
): Promise<{ rows: Record<string, unknown>[]; nextCursor: string | null; hasMore: boolean }> {
  const limit = page.limit ?? 50
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
  return { rows: pageRows, nextCursor: more ? String(pageRows.at(-1)?.id) : null, hasMore: more }
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

/** The list envelope: `{ items, nextCursor, hasMore }` (record lists: more ⇔ a cursor). */
export function pageOf<T>(
  items: T[],
  nextCursor: string | null,
): { items: T[]; nextCursor: string | null; hasMore: boolean } {
  return { items, nextCursor, hasMore: nextCursor !== null }
}

/** A 201 with the created resource and its URL in `Location` (`path` is under the API root). */
export function sendCreated(reply: FastifyReply, path: string, body: unknown): FastifyReply {
  return reply.code(201).header('location', path).send(body)
}
