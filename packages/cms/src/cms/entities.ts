import { defineEntity } from 'audited'
import { personalFieldsOf } from './personal-fields.js'
import { RETENTION_ENTITIES } from './retention-entities.js'

/** Every CMS table, audited. Secrets (password and token hashes, webhook secrets) are redacted. */
const stamped = {
  versionColumn: 'version',
  columns: { created_at: 'timestamp', updated_at: 'timestamp' },
} as const

export interface TenantRow {
  id: string
  name: string
  limits: { writesPerSecond?: number; burst?: number; maxEntries?: number } | null
  version: number
  created_at: Date
  updated_at: Date
}
export const tenants = defineEntity<TenantRow>({
  table: 'tenants',
  versionColumn: 'version',
  columns: { ...stamped.columns, limits: 'json' },
})

export type Role = 'admin' | 'editor' | 'viewer' | 'auditor'
export const ROLES: readonly Role[] = ['admin', 'editor', 'viewer', 'auditor']

export interface UserRow {
  id: string
  tenant_id: string
  email: string
  password_hash: string
  role: Role
  platform_admin: boolean
  name: string | null
  version: number
  created_at: Date
  updated_at: Date
}
/** E-mail and name are personal data of the user (README "Personal data and erasure"). */
export const users = defineEntity<UserRow>({
  table: 'users',
  tenantColumn: 'tenant_id',
  ...stamped,
  personal: ['email', 'name'],
  subject: 'id',
  redact: ['password_hash'],
  columns: { ...stamped.columns, platform_admin: 'boolean' },
})

export interface TokenRow {
  id: string
  tenant_id: string
  user_id: string | null
  name: string
  role: Role
  kind: 'api' | 'session'
  platform_admin: boolean
  token_hash: string
  expires_at: Date | null
  /** Sessions: `credentialsFingerprint` of the user's password hash at login; API tokens: null. */
  credentials_fingerprint?: string | null
  version: number
  created_at: Date
  updated_at: Date
}
export const tokens = defineEntity<TokenRow>({
  table: 'tokens',
  tenantColumn: 'tenant_id',
  ...stamped,
  redact: ['token_hash', 'credentials_fingerprint'],
  columns: { ...stamped.columns, platform_admin: 'boolean', expires_at: 'timestamp' },
})

export type FieldType =
  | 'string'
  | 'text'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'datetime'
  | 'json'
  | 'enum'
  | 'reference'
export interface FieldDefinition {
  name: string
  type: FieldType
  required?: boolean
  unique?: boolean
  options?: string[]
  /** Personal data: its values are encrypted in events under the subject's key (set only when true). */
  personal?: boolean
  /** Names the entry's data subject (at most one field; a string or reference; set only when true). */
  subject?: boolean
}
export interface ContentTypeRow {
  id: string
  tenant_id: string
  key: string
  name: string
  fields: FieldDefinition[]
  version: number
  created_at: Date
  updated_at: Date
}
export const contentTypes = defineEntity<ContentTypeRow>({
  table: 'content_types',
  tenantColumn: 'tenant_id',
  ...stamped,
  columns: { ...stamped.columns, fields: 'json' },
})

export interface EntryRow {
  id: string
  tenant_id: string
  type: string
  locale: string
  status: 'draft' | 'published' | 'archived'
  data: Record<string, unknown>
  version: number
  created_at: Date
  updated_at: Date
}
/** Fields flagged `personal` by the entry's content type are encrypted in events (see
 * `personalFieldsOf`). */
export const entries = defineEntity<EntryRow>({
  table: 'entries',
  tenantColumn: 'tenant_id',
  statusColumn: 'status',
  ...stamped,
  columns: { ...stamped.columns, data: 'json' },
  personalJson: { column: 'data', fields: personalFieldsOf },
})

/** One value of a `unique` entry field; `id` = sha256(tenant, type, field, canonical value). */
export interface EntryUniqueValueRow {
  id: string
  tenant_id: string
  type: string
  field: string
  entry_id: string
}
export const entryUniqueValues = defineEntity<EntryUniqueValueRow>({
  table: 'entry_unique_values',
  tenantColumn: 'tenant_id',
})

export interface LocaleRow {
  id: string
  tenant_id: string
  code: string
  name: string
  version: number
  created_at: Date
  updated_at: Date
}
export const locales = defineEntity<LocaleRow>({ table: 'locales', tenantColumn: 'tenant_id', ...stamped })

export interface MediaRow {
  id: string
  tenant_id: string
  filename: string
  mime: string
  size: string
  checksum: string
  url: string
  version: number
  created_at: Date
  updated_at: Date
}
export const media = defineEntity<MediaRow>({
  table: 'media',
  tenantColumn: 'tenant_id',
  ...stamped,
  columns: { ...stamped.columns, size: 'bigint' },
})

export interface WebhookRow {
  id: string
  tenant_id: string
  url: string
  events: string[]
  secret: string
  active: boolean
  ordering: 'record' | 'none'
  previous_secret: string | null
  previous_secret_until: Date | null
  disabled_reason: string | null
  version: number
  created_at: Date
  updated_at: Date
}
export const webhooks = defineEntity<WebhookRow>({
  table: 'webhooks',
  tenantColumn: 'tenant_id',
  ...stamped,
  redact: ['secret', 'previous_secret'],
  columns: { ...stamped.columns, events: 'json', active: 'boolean', previous_secret_until: 'timestamp' },
})

/** The tables the audit routes accept as `:table`. */
export const CMS_ENTITIES = {
  tenants,
  users,
  tokens,
  content_types: contentTypes,
  entries,
  locales,
  media,
  webhooks,
  ...RETENTION_ENTITIES,
}
