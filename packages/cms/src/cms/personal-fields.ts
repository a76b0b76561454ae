import type { PersonalFields, PersonalReader } from 'audited'

/** What this module reads of a content type's field definitions. */
interface FieldFlags {
  readonly name: string
  readonly personal?: boolean
  readonly subject?: boolean
}

/** A subject id as the erase and export routes accept it. */
export const SUBJECT_ID = '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,254}$'
const SUBJECT_RE = new RegExp(SUBJECT_ID)

/**
 * The personal fields of an entry and whose data they are (`entries.personalJson`): the
 * fields its content type flags `personal`, read in the writing transaction; the subject is
 * the value of the field flagged `subject` when it holds a subject id, else the entry's own
 * id (the entry describes the person). A type without personal fields: nothing to encrypt.
 */
export async function personalFieldsOf(
  row: Record<string, unknown>,
  reader: PersonalReader,
): Promise<PersonalFields | undefined> {
  const [type] = await reader.read<{ fields: unknown }>(
    reader.kysely
      .selectFrom('content_types')
      .select('fields')
      .where('tenant_id', '=', row.tenant_id)
      .where('key', '=', row.type),
  )
  if (type === undefined) return undefined
  const fields = (typeof type.fields === 'string' ? JSON.parse(type.fields) : type.fields) as FieldFlags[]
  const keys = fields.filter((f) => f.personal === true).map((f) => f.name)
  if (keys.length === 0) return undefined
  return { keys, subject: subjectOf(fields, row) }
}

function subjectOf(fields: readonly FieldFlags[], row: Record<string, unknown>): string {
  const field = fields.find((f) => f.subject === true)?.name
  const data = row.data as Record<string, unknown> | null
  const value = field !== undefined && data !== null && Object.hasOwn(data, field) ? data[field] : undefined
  return typeof value === 'string' && SUBJECT_RE.test(value) ? value : String(row.id)
}
