/** Retention as the API shows it: a tenant's policy and its legal holds. */
import { type TSchema, Type } from 'typebox'
import { MAX_KEEP_DAYS, MAX_POLICY_TABLES, TABLE_NAME } from '../../cms/retention-operations.js'
import { Page } from './envelope.js'

const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const KeepDays = Type.Integer({
  minimum: 0,
  maximum: MAX_KEEP_DAYS,
  description: 'Events older than this many days are purged (0: every sealed event, at the next run)',
})

/** `{ "<table>": { "keepDays": N } }`: a table's own retention. */
export const PolicyTables = Type.Record(
  Type.String({ pattern: TABLE_NAME }),
  Type.Object({ keepDays: KeepDays }, { additionalProperties: false }),
  { maxProperties: MAX_POLICY_TABLES, additionalProperties: false },
)

const fields = {
  keepDays: KeepDays,
  archive: Type.Boolean({ description: 'Archive to ARCHIVE_DIR before purging' }),
  tables: PolicyTables,
}

const Policy = Type.Object(fields, {
  $id: 'RetentionPolicy',
  additionalProperties: false,
  description: "The tenant's retention policy (none set: nothing is ever purged)",
})

/** PUT's body: `archive` defaults to true, `tables` to none. */
export const PolicyBody = Type.Object(
  { keepDays: KeepDays, archive: Type.Optional(fields.archive), tables: Type.Optional(PolicyTables) },
  { additionalProperties: false },
)

const Hold = Type.Object(
  {
    id: Type.String({ description: 'ULID' }),
    scope: Type.Union(['tenant', 'record', 'actor'].map((s) => Type.Literal(s))),
    table: Nullable(Type.String({ description: 'record holds: the table' })),
    recordId: Nullable(Type.String({ description: 'record holds: the record id' })),
    actorId: Nullable(Type.String({ description: 'actor holds: the actor whose events are kept' })),
    reason: Type.String(),
    version: Type.Integer({ minimum: 1 }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'LegalHold', additionalProperties: false, description: 'What retention must never purge' },
)

/** POST's body (each scope's fields are checked by src/cms/retention-operations.ts). */
export const HoldBody = Type.Object(
  {
    scope: Type.Union(['tenant', 'record', 'actor'].map((s) => Type.Literal(s))),
    table: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    recordId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    actorId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
)

export const RETENTION_SCHEMAS: readonly TSchema[] = [Policy, Hold, Page('LegalHold')]
