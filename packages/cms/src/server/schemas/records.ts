/**
 * The resources as the API shows them (camelCase, dates as ISO strings, no tenant column,
 * no secrets): one named schema each, shown in `/openapi.json` under `components.schemas`.
 * A field missing here is dropped from the answers, so these follow src/cms/entities.ts.
 */
import { ACTIONS, type ChangeEvent as ChangeEventData } from 'audited'
import { type TSchema, Type } from 'typebox'
import { FIELD_TYPES } from '../../cms/content-fields.js'
import { ROLES } from '../../cms/entities.js'
import { ErrorEnvelope, Page, ref } from './envelope.js'
import { INTEGRITY_SCHEMAS } from './integrity.js'
import { PRIVACY_SCHEMAS } from './privacy.js'
import { RETENTION_SCHEMAS } from './retention.js'
import { WEBHOOK_SCHEMAS } from './webhooks.js'

const Id = Type.String({ description: 'ULID' })
const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
/** An object whose keys are the resource's own (entry data, event values). */
const OpenObject = Type.Object({}, { additionalProperties: true })
const RoleName = Type.Union(ROLES.map((r) => Type.Literal(r)))

const stamps = { version: Type.Integer({ minimum: 1 }), createdAt: Timestamp, updatedAt: Timestamp }
const named = <P extends Record<string, TSchema>>($id: string, properties: P, description?: string) =>
  Type.Object(
    { id: Id, ...properties, ...stamps },
    { $id, additionalProperties: false, ...(description ? { description } : {}) },
  )

export const TenantLimits = Type.Object(
  {
    writesPerSecond: Type.Optional(Type.Integer()),
    burst: Type.Optional(Type.Integer()),
    maxEntries: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
)
const Tenant = named('Tenant', { name: Type.String(), limits: Nullable(TenantLimits) })
const TenantCreated = Type.Object(
  { tenant: ref('Tenant'), adminToken: Type.String({ description: 'Shown once' }) },
  { $id: 'TenantCreated', additionalProperties: false },
)

const userFields = {
  email: Type.String(),
  role: RoleName,
  platformAdmin: Type.Boolean(),
  name: Nullable(Type.String()),
}
const User = named('User', userFields)

const tokenFields = {
  userId: Nullable(Type.String({ description: 'The user of a session; null for API tokens' })),
  name: Type.String(),
  role: RoleName,
  kind: Type.Union([Type.Literal('api'), Type.Literal('session')]),
  platformAdmin: Type.Boolean(),
  expiresAt: Nullable(Timestamp),
}
const Token = named('Token', tokenFields)
const TokenCreated = named('TokenCreated', {
  ...tokenFields,
  token: Type.String({ description: 'Shown once' }),
})

const Field = Type.Object(
  {
    name: Type.String(),
    type: Type.Union(FIELD_TYPES.map((t) => Type.Literal(t))),
    required: Type.Optional(Type.Boolean()),
    unique: Type.Optional(Type.Boolean()),
    options: Type.Optional(Type.Array(Type.String())),
    personal: Type.Optional(Type.Boolean()),
    subject: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)
const ContentType = named('ContentType', {
  key: Type.String(),
  name: Type.String(),
  fields: Type.Array(Field),
})

const EntryStatus = Type.Union([Type.Literal('draft'), Type.Literal('published'), Type.Literal('archived')])
const Entry = named('Entry', {
  type: Type.String(),
  locale: Type.String(),
  status: EntryStatus,
  data: OpenObject,
})

const Locale = named('Locale', { code: Type.String(), name: Type.String() })
const Media = named('Media', {
  filename: Type.String(),
  mime: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  checksum: Type.String(),
  url: Type.String(),
})
const webhookFields = {
  url: Type.String(),
  events: Type.Array(Type.String()),
  active: Type.Boolean(),
  ordering: Type.Union([Type.Literal('record'), Type.Literal('none')]),
  disabledReason: Nullable(
    Type.String({ description: 'Why delivery switched it off (410, failing for days)' }),
  ),
  previousSecretUntil: Nullable(
    Type.String({ format: 'date-time', description: 'Until when the rotated-out secret also signs' }),
  ),
}
const Webhook = named('Webhook', webhookFields)
const WebhookCreated = named('WebhookCreated', {
  ...webhookFields,
  secret: Type.String({ description: 'Shown once: signs the deliveries' }),
})

const Role = Type.Object(
  { name: RoleName, description: Type.String() },
  { $id: 'Role', additionalProperties: false },
)

const Session = Type.Object(
  { token: Type.String(), expiresAt: Timestamp },
  { $id: 'Session', additionalProperties: false },
)

const Me = Type.Object(
  {
    userId: Nullable(Type.String({ description: 'null for an API token' })),
    email: Nullable(Type.String()),
    name: Nullable(Type.String()),
    role: RoleName,
    platformAdmin: Type.Boolean(),
    tenantId: Type.String(),
    auth: Type.Union([Type.Literal('session'), Type.Literal('token')]),
    tokenId: Type.String({ description: 'The session or API token the request carried' }),
  },
  { $id: 'Me', additionalProperties: false },
)

const ChangeEvent = Type.Object(
  {
    eventId: Id,
    hlc: Type.String({ description: 'Hybrid logical clock, a decimal string (exceeds 2^53)' }),
    wallTime: Timestamp,
    nodeId: Type.String(),
    tenantId: Nullable(Type.String()),
    txId: Type.String(),
    table: Type.String(),
    recordId: Type.String(),
    operation: Type.Union(['INSERT', 'UPDATE', 'DELETE'].map((o) => Type.Literal(o))),
    action: Type.Union(ACTIONS.map((a) => Type.Literal(a))),
    actorId: Type.String(),
    actorType: Type.Union(['user', 'api_token', 'system'].map((a) => Type.Literal(a))),
    oldValues: Nullable(OpenObject),
    newValues: Nullable(OpenObject),
    changedFields: Type.Array(Type.String()),
    requestId: Nullable(Type.String()),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    reason: Nullable(Type.String()),
    metadata: Nullable(OpenObject),
  },
  {
    $id: 'ChangeEvent',
    additionalProperties: false,
    description: 'One change as stored: oldValues / newValues keep the columns’ names (the signed record)',
  },
)

/** The fields of an event as the API answers it, in the schema's order (the SSE data too). */
export const CHANGE_EVENT_FIELDS = Object.keys(ChangeEvent.properties) as readonly (keyof ChangeEventData)[]

const State = Type.Object(
  {
    state: Type.Union([OpenObject, Type.Null()], {
      description:
        'The record as it was, with the field names of its resource; null if it did not exist then',
    }),
  },
  { $id: 'RecordState', additionalProperties: false },
)

/** A restored record: the resource of the table it belongs to. */
const RestoredRecord = Type.Object(
  { id: Id, version: Type.Integer({ minimum: 1 }) },
  { $id: 'RestoredRecord', additionalProperties: true },
)

const Status = (status: string, $id: string) =>
  Type.Object({ status: Type.Literal(status) }, { $id, additionalProperties: false })

/** Every named schema, in the order they are registered (a schema's references first). */
export const SHARED_SCHEMAS: readonly TSchema[] = [
  ErrorEnvelope,
  Tenant,
  TenantCreated,
  User,
  Token,
  TokenCreated,
  ContentType,
  Entry,
  Locale,
  Media,
  Webhook,
  WebhookCreated,
  Role,
  Session,
  Me,
  ChangeEvent,
  State,
  RestoredRecord,
  ...RETENTION_SCHEMAS,
  ...PRIVACY_SCHEMAS,
  Status('ok', 'Health'),
  Status('ready', 'Readiness'),
  ...WEBHOOK_SCHEMAS,
  ...INTEGRITY_SCHEMAS,
  ...[
    'User',
    'Token',
    'ContentType',
    'Entry',
    'Locale',
    'Media',
    'Webhook',
    'Role',
    'ChangeEvent',
    'WebhookDelivery',
  ].map(Page),
]
