import type { AuditedDatabase } from 'audited'
import { invalid } from './content-fields.js'
import type { ContentTypeRow, FieldDefinition } from './entities.js'

/** Entry data: field name → value. */
export type Data = Record<string, unknown>

export const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/

const MAX_STRING = 1000
const MAX_TEXT = 100_000
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/

/** A real calendar date in ISO 8601 (`2024-05-01` or a date-time with a zone). */
function isIsoDateTime(value: string): boolean {
  const m = ISO_DATE_TIME.exec(value)
  if (m === null || Number.isNaN(Date.parse(value))) return false
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  // Date.parse rolls 2024-02-30 over to March; rebuild the day to reject it.
  const day = new Date(Date.UTC(y, mo - 1, d))
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d
}

/**
 * A field's value in entry data: own keys only. Field names may be `constructor`,
 * `toString`…, which a plain object inherits; those must read as "no value".
 */
export function fieldValue(data: Data, name: string): unknown {
  return Object.hasOwn(data, name) ? data[name] : undefined
}

/** Why `value` does not fit `field`, or undefined when it does (references checked later). */
function valueProblem(field: FieldDefinition, value: unknown): string | undefined {
  switch (field.type) {
    case 'string':
    case 'text': {
      const max = field.type === 'string' ? MAX_STRING : MAX_TEXT
      if (typeof value !== 'string') return 'must be a string'
      return value.length > max ? `must be at most ${max} characters` : undefined
    }
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a finite number'
    case 'integer':
      return Number.isSafeInteger(value) ? undefined : 'must be a safe integer'
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be a boolean'
    case 'datetime':
      return typeof value === 'string' && isIsoDateTime(value) ? undefined : 'must be an ISO 8601 date-time'
    case 'json':
      return undefined // the body parser only produces JSON values
    case 'enum':
      return typeof value === 'string' && (field.options ?? []).includes(value)
        ? undefined
        : `must be one of ${(field.options ?? []).join(', ')}`
    case 'reference':
      return typeof value === 'string' && ULID_RE.test(value) ? undefined : 'must be an entry id (ULID)'
  }
}

interface Problem {
  readonly field: string
  readonly problem: string
}

/** Structural problems: unknown fields, missing required ones, values of the wrong type. */
function shapeProblems(fields: readonly FieldDefinition[], data: Data): Problem[] {
  const byName = new Map(fields.map((f) => [f.name, f]))
  const problems: Problem[] = []
  for (const name of Object.keys(data)) {
    if (!byName.has(name)) problems.push({ field: name, problem: 'is not a field of this content type' })
  }
  for (const field of fields) {
    const value = fieldValue(data, field.name)
    if (value === undefined) {
      if (field.required === true) problems.push({ field: field.name, problem: 'is required' })
      continue
    }
    const problem = valueProblem(field, value)
    if (problem !== undefined) problems.push({ field: field.name, problem })
  }
  return problems
}

/** References must name an existing entry of this tenant (any type). */
async function referenceProblems(
  db: AuditedDatabase,
  tenantId: string,
  fields: readonly FieldDefinition[],
  data: Data,
): Promise<Problem[]> {
  const refs = fields
    .filter((f) => f.type === 'reference' && typeof fieldValue(data, f.name) === 'string')
    .map((f) => ({ field: f.name, id: fieldValue(data, f.name) as string }))
  if (refs.length === 0) return []
  const found = await db.readKysely
    .selectFrom('entries')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where(
      'id',
      'in',
      refs.map((r) => r.id),
    )
    .execute()
  const existing = new Set(found.map((r) => String(r.id)))
  return refs
    .filter((r) => !existing.has(r.id))
    .map((r) => ({ field: r.field, problem: 'references no existing entry' }))
}

/** Validates entry data against the type; `validation` (400) naming every bad field. */
export async function validateData(
  db: AuditedDatabase,
  tenantId: string,
  type: ContentTypeRow,
  data: Data,
): Promise<void> {
  const shape = shapeProblems(type.fields, data)
  // Reference look-ups only when the shape is right: no query for a body that fails anyway.
  const problems = shape.length > 0 ? shape : await referenceProblems(db, tenantId, type.fields, data)
  if (problems.length === 0) return
  throw invalid(`The entry data does not match content type "${type.key}".`, {
    field: problems[0]!.field,
    problems,
  })
}

/**
 * `null` means "no value" for every field type: it is dropped on create and, on PATCH,
 * removes the key from the stored data (an optional field can be unset). Other keys
 * replace the stored value wholesale (top-level merge only; a `json` value is never
 * merged deeply).
 */
export function mergeData(stored: Data, patch: Data): Data {
  const out: Data = { ...stored }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = value
  }
  return out
}

export const withoutNulls = (data: Data): Data => mergeData({}, data)

/**
 * Stored (or restored) data without the fields the type no longer declares: a field
 * removed from a content type is dropped from each entry on its next write, so the entry
 * stays editable. Only stored data is pruned; a client sending an unknown field still gets
 * `validation`.
 */
export function withoutStaleFields(type: ContentTypeRow, stored: Data): Data {
  const declared = new Set(type.fields.map((f) => f.name))
  return Object.fromEntries(Object.entries(stored).filter(([name]) => declared.has(name)))
}
