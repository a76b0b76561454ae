import { AuditedError } from 'audited'
import type { FieldDefinition, FieldType } from './entities.js'

/** The field types a content type may declare. */
export const FIELD_TYPES: readonly FieldType[] = [
  'string',
  'text',
  'number',
  'integer',
  'boolean',
  'datetime',
  'json',
  'enum',
  'reference',
]

/** A field as a client sends it (`required` / `unique` optional). */
export interface FieldInput {
  readonly name: string
  readonly type: FieldType
  readonly required?: boolean | undefined
  readonly unique?: boolean | undefined
  readonly options?: readonly string[] | undefined
  readonly personal?: boolean | undefined
  readonly subject?: boolean | undefined
}

export const invalid = (message: string, details: Record<string, unknown>) =>
  new AuditedError('validation', message, { details })

/**
 * Checks what a schema cannot express (unique names, `options` only and always for
 * enums) and returns the definitions in one shape: explicit `required` / `unique`
 * booleans, so every client reads the same keys back. Also re-checks definitions read
 * from an event (restore), which no request schema has seen.
 */
export function normaliseFields(fields: readonly FieldInput[]): FieldDefinition[] {
  if (!Array.isArray(fields)) throw invalid('"fields" must be a list of field definitions.', {})
  const seen = new Set<string>()
  const subjects = fields.filter((f) => f?.subject === true)
  if (subjects.length > 1)
    throw invalid('At most one field may name the data subject.', { fields: subjects.map((f) => f.name) })
  return fields.map((field) => {
    if (typeof field?.name !== 'string' || !FIELD_TYPES.includes(field.type)) {
      throw invalid('A field needs a name and a known type.', { field: String(field?.name) })
    }
    if (seen.has(field.name)) throw invalid('Field names must be unique.', { field: field.name })
    seen.add(field.name)
    if (field.type === 'enum' && (field.options === undefined || field.options.length === 0)) {
      throw invalid('An enum field needs a non-empty "options" list.', { field: field.name })
    }
    if (field.type !== 'enum' && field.options !== undefined) {
      throw invalid('Only enum fields take "options".', { field: field.name })
    }
    if (field.options !== undefined && new Set(field.options).size !== field.options.length) {
      throw invalid('Enum options must be unique.', { field: field.name })
    }
    checkPrivacyFlags(field)
    const out: FieldDefinition = {
      name: field.name,
      type: field.type,
      required: field.required ?? false,
      unique: field.unique ?? false,
      ...(field.personal === true ? { personal: true } : {}),
      ...(field.subject === true ? { subject: true } : {}),
    }
    return field.options === undefined ? out : { ...out, options: [...field.options] }
  })
}

/**
 * `personal` and `subject` (README "Personal data and erasure"): the subject field is a
 * string or reference holding an id, stored in clear (it is how an erasure finds the
 * entry), so it cannot be personal itself; a personal field cannot be `unique` (its value's
 * hash would outlive an erasure in the unique-value rows).
 */
function checkPrivacyFlags(field: FieldInput): void {
  if (field.personal === true && field.unique === true)
    throw invalid('A personal field cannot be unique.', { field: field.name })
  if (field.subject !== true) return
  if (field.personal === true) throw invalid('The subject field cannot be personal.', { field: field.name })
  if (field.type !== 'string' && field.type !== 'reference')
    throw invalid('The subject field must be a string or a reference.', { field: field.name })
}
