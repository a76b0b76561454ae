import { AuditedError } from '../core/errors.js'
import type { PersonalJson } from '../privacy/personal-json.js'

/**
 * How a column's value is normalised, so that the same row reads the same on every
 * dialect (SQLite stores booleans as 0/1 and dates as text; MariaDB returns JSON as text).
 * Columns without a kind are passed through as the driver returns them.
 */
export type ColumnKind = 'text' | 'number' | 'bigint' | 'boolean' | 'json' | 'timestamp' | 'bytes'

export interface EntityConfig {
  /** The table's name. */
  readonly table: string
  /** The primary-key column (default `id`). One column; its value is the event's `recordId`. */
  readonly primaryKey?: string
  /** Column holding the tenant; writes set it from `ctx.tenantId`, reads and writes are scoped by it. */
  readonly tenantColumn?: string
  /** Integer column the engine sets to 1 on create and increments on every write. */
  readonly versionColumn?: string
  /** Column whose change to / from `published` records action `publish` / `unpublish`. */
  readonly statusColumn?: string
  /** Columns masked in events (`"[redacted]"`); their changes are still named in `changedFields`. */
  readonly redact?: readonly string[]
  /** Kinds of the columns that need normalising (see `ColumnKind`). */
  readonly columns?: Readonly<Record<string, ColumnKind>>
  /** Columns holding personal data: their values in events are stored encrypted under the
   * subject's own key (see `AuditorOptions.personalData`), so erasing the subject makes
   * them read `"[erased]"` everywhere in history. */
  readonly personal?: readonly string[]
  /** The column naming whose data the personal columns are (default: the primary key). */
  readonly subject?: string
  /** Personal keys inside a JSON column, decided per row (see `PersonalJson`): each such
   * key's value is stored encrypted under its subject's key, like a `personal` column. */
  readonly personalJson?: PersonalJson
}

/** An entity definition: the whole per-table cost of auditing. `Row` types the values. */
export interface Entity<Row extends object = Record<string, unknown>> {
  readonly table: string
  readonly primaryKey: string
  readonly tenantColumn: string | undefined
  readonly versionColumn: string | undefined
  readonly statusColumn: string | undefined
  readonly redact: ReadonlySet<string>
  readonly columns: Readonly<Record<string, ColumnKind>>
  readonly personal: ReadonlySet<string>
  /** Set when `personal` is: the column naming the data subject. */
  readonly subject: string | undefined
  /** Personal keys inside a JSON column (see `EntityConfig.personalJson`). */
  readonly personalJson: PersonalJson | undefined
  /** Phantom field carrying the row type; never set. */
  readonly __row?: Row
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const KINDS: readonly string[] = ['text', 'number', 'bigint', 'boolean', 'json', 'timestamp', 'bytes']

/** True for a name that may be used as a table or column. */
export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name)
}

/**
 * Declares an audited table. This replaces per-entity command classes: the engine derives
 * every statement for every dialect from this definition.
 *
 * @example
 * interface Post { id: string; tenant_id: string; title: string; status: string; version: number }
 * const posts = defineEntity<Post>({
 *   table: 'posts', tenantColumn: 'tenant_id', versionColumn: 'version', statusColumn: 'status',
 * })
 */
export function defineEntity<Row extends object = Record<string, unknown>>(
  config: EntityConfig,
): Entity<Row> {
  const problem = (message: string): never => {
    throw new AuditedError('validation', `defineEntity(${String(config?.table)}): ${message}`)
  }
  if (typeof config !== 'object' || config === null) problem('a config object is required')
  const primaryKey = config.primaryKey ?? 'id'
  const names = [config.table, primaryKey, config.tenantColumn, config.versionColumn, config.statusColumn]
  for (const name of names) {
    if (name !== undefined && (typeof name !== 'string' || !isIdentifier(name))) {
      problem(`"${String(name)}" is not a valid table or column name`)
    }
  }
  const redact = new Set(config.redact ?? [])
  for (const name of redact) {
    if (!isIdentifier(name)) problem(`redact: "${name}" is not a valid column name`)
    if (name === primaryKey || name === config.tenantColumn)
      problem(`redact: "${name}" identifies the record`)
  }
  const columns = { ...(config.columns ?? {}) }
  for (const [name, kind] of Object.entries(columns)) {
    if (!isIdentifier(name)) problem(`columns: "${name}" is not a valid column name`)
    if (!KINDS.includes(kind)) problem(`columns.${name}: kind must be one of ${KINDS.join(', ')}`)
  }
  if (config.versionColumn !== undefined) columns[config.versionColumn] = 'number'
  const personal = new Set(config.personal ?? [])
  for (const name of personal) {
    if (!isIdentifier(name)) problem(`personal: "${name}" is not a valid column name`)
    if (name === primaryKey || name === config.tenantColumn || name === config.versionColumn)
      problem(`personal: "${name}" identifies the record`)
    if (redact.has(name)) problem(`personal: "${name}" is also redacted (choose one)`)
  }
  const subject = personal.size === 0 ? undefined : (config.subject ?? primaryKey)
  if (subject !== undefined && (!isIdentifier(subject) || personal.has(subject)))
    problem(`subject: "${subject}" must be a column that is not personal`)
  const personalJson = config.personalJson
  if (personalJson !== undefined) {
    const column = personalJson?.column
    if (typeof column !== 'string' || columns[column] !== 'json')
      problem(`personalJson: "${String(column)}" must be a column declared json in columns`)
    if (personal.has(column) || redact.has(column))
      problem(`personalJson: "${column}" is already personal or redacted`)
    if (typeof personalJson.fields !== 'function') problem('personalJson.fields must be a function')
  }
  return Object.freeze({
    personal,
    subject,
    personalJson,
    table: config.table,
    primaryKey,
    tenantColumn: config.tenantColumn,
    versionColumn: config.versionColumn,
    statusColumn: config.statusColumn,
    redact,
    columns: Object.freeze(columns),
  })
}
