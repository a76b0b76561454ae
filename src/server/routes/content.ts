import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { type Static, Type } from 'typebox'
import { decodeRow } from '../../audit/row-codec.js'
import type { AuditedWriter } from '../../audit/write-scope.js'
import {
  type ContentTypeRow,
  contentTypes,
  type EntryRow,
  type EntryUniqueValueRow,
  entries,
  entryUniqueValues,
  type FieldDefinition,
} from '../../cms/entities.js'
import { listEntries } from '../../cms/entry-list.js'
import type { AuditContext } from '../../core/audit-context.js'
import { canonicalJson } from '../../core/canonical-json.js'
import { AuditedError } from '../../core/errors.js'
import type { AuditedDatabase } from '../../db/open-database.js'
import type { App } from '../app-type.js'
import { allow, auditContext, requirePrincipal } from '../principal.js'
import { created, listPage, newRecordId, PageQuery, present, touched } from '../resource.js'
import type { RouteDeps } from './deps.js'

// ---------------------------------------------------------------------------------------
// Request schemas
// ---------------------------------------------------------------------------------------

const ULID = '^[0-9A-HJKMNP-TV-Z]{26}$'
const ULID_RE = new RegExp(ULID)
const TYPE_KEY = '^[a-z][a-z0-9_]{0,63}$'
/** BCP 47-ish (`en`, `pt-BR`, `zh-Hant-TW`); the column is varchar(16). */
const LOCALE = '^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,2}$'

/** The field types a content type may declare. */
export const FIELD_TYPES = [
  'string',
  'text',
  'number',
  'integer',
  'boolean',
  'datetime',
  'json',
  'enum',
  'reference',
] as const

const FieldSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }),
    type: Type.Union(FIELD_TYPES.map((t) => Type.Literal(t))),
    required: Type.Optional(Type.Boolean()),
    unique: Type.Optional(Type.Boolean()),
    options: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 })),
  },
  { additionalProperties: false },
)
type FieldInput = Static<typeof FieldSchema>

const FieldsSchema = Type.Array(FieldSchema, { maxItems: 100 })

const TypeParams = Type.Object({ key: Type.String({ pattern: TYPE_KEY }) })

const ContentTypeCreateBody = Type.Object(
  {
    key: Type.String({ pattern: TYPE_KEY }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    fields: FieldsSchema,
  },
  { additionalProperties: false },
)

const ContentTypePatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    fields: Type.Optional(FieldsSchema),
    version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
)

const Status = Type.Union([Type.Literal('draft'), Type.Literal('published'), Type.Literal('archived')])

const EntryTypeParams = Type.Object({ type: Type.String({ pattern: TYPE_KEY }) })
const EntryParams = Type.Object({
  type: Type.String({ pattern: TYPE_KEY }),
  id: Type.String({ pattern: ULID }),
})

const EntryData = Type.Record(Type.String(), Type.Unknown())
type Data = Record<string, unknown>

const EntryCreateBody = Type.Object(
  {
    data: EntryData,
    locale: Type.Optional(Type.String({ pattern: LOCALE, maxLength: 16 })),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
)

const EntryPatchBody = Type.Object(
  {
    data: Type.Optional(EntryData),
    locale: Type.Optional(Type.String({ pattern: LOCALE, maxLength: 16 })),
    version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
)

/** Publish / unpublish take an optional expected version. */
const StatusChangeBody = Type.Object(
  { version: Type.Optional(Type.Integer({ minimum: 1 })) },
  { additionalProperties: false },
)

const EntryListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(Status),
    locale: Type.Optional(Type.String({ pattern: LOCALE, maxLength: 16 })),
  },
  { additionalProperties: false },
)

const ContentTypeListQuery = Type.Object(PageQuery, { additionalProperties: false })

// ---------------------------------------------------------------------------------------
// Content types
// ---------------------------------------------------------------------------------------

const invalid = (message: string, details: Record<string, unknown>) =>
  new AuditedError('validation', message, { details })

/**
 * Checks what the schema cannot express (unique names, `options` only and always for
 * enums) and returns the definitions in one shape: explicit `required` / `unique`
 * booleans, so every client reads the same keys back.
 */
function normaliseFields(fields: readonly FieldInput[]): FieldDefinition[] {
  const seen = new Set<string>()
  return fields.map((field) => {
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
    const out: FieldDefinition = {
      name: field.name,
      type: field.type,
      required: field.required ?? false,
      unique: field.unique ?? false,
    }
    return field.options === undefined ? out : { ...out, options: [...field.options] }
  })
}

/** A tenant's content type by key, or `not_found` (also for another tenant's type). */
async function loadType(db: AuditedDatabase, tenantId: string, key: string): Promise<ContentTypeRow> {
  const raw = await db.readKysely
    .selectFrom('content_types')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('key', '=', key)
    .executeTakeFirst()
  if (raw === undefined) throw new AuditedError('not_found', 'No such content type.', { details: { key } })
  // decodeRow normalises by the entity's declared column kinds (JSON text, timestamps), so
  // the row has the entity's row type on every dialect.
  return decodeRow(contentTypes, raw) as unknown as ContentTypeRow
}

async function typeHasEntries(db: AuditedDatabase, tenantId: string, key: string): Promise<boolean> {
  const row = await db.readKysely
    .selectFrom('entries')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('type', '=', key)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Making a field unique while entries exist would leave their values unchecked (no
 * unique-value rows were written for them), so it is refused rather than half-enforced.
 */
async function assertNoNewUniqueWithEntries(
  db: AuditedDatabase,
  tenantId: string,
  type: ContentTypeRow,
  next: readonly FieldDefinition[],
): Promise<void> {
  const wasUnique = new Set(type.fields.filter((f) => f.unique === true).map((f) => f.name))
  const added = next.filter((f) => f.unique === true && !wasUnique.has(f.name)).map((f) => f.name)
  if (added.length === 0 || !(await typeHasEntries(db, tenantId, type.key))) return
  throw new AuditedError('conflict', 'A field cannot become unique while the type has entries.', {
    details: { fields: added },
  })
}

const presentType = (row: ContentTypeRow) => present(row)

// ---------------------------------------------------------------------------------------
// Entry data validation
// ---------------------------------------------------------------------------------------

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
    const value = data[field.name]
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
    .filter((f) => f.type === 'reference' && typeof data[f.name] === 'string')
    .map((f) => ({ field: f.name, id: data[f.name] as string }))
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
async function validateData(
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
 * removes the key from the stored data (so a field deleted from the type can be cleared,
 * and an optional field can be unset). Other keys replace the stored value wholesale
 * (top-level merge only; a `json` value is never merged deeply).
 */
function mergeData(stored: Data, patch: Data): Data {
  const out: Data = { ...stored }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = value
  }
  return out
}

const withoutNulls = (data: Data): Data => mergeData({}, data)

// ---------------------------------------------------------------------------------------
// Unique values
// ---------------------------------------------------------------------------------------

type UniqueRow = Omit<EntryUniqueValueRow, 'tenant_id'>

/**
 * The row id of one unique value: sha256 of [tenant, type, field, value]. Canonical JSON
 * equals JSON.stringify for the scalar values fields hold, and gives `json` values one
 * spelling whatever their key order. A duplicate value is therefore a primary-key
 * violation, which the engine reports as `conflict`, on every dialect.
 */
function uniqueValueId(tenantId: string, type: string, field: string, value: unknown): string {
  return createHash('sha256')
    .update(canonicalJson([tenantId, type, field, value]))
    .digest('hex')
}

/** The unique-value rows `data` needs: one per unique field that has a value. */
function uniqueRowsFor(tenantId: string, type: ContentTypeRow, entryId: string, data: Data): UniqueRow[] {
  return type.fields
    .filter((f) => f.unique === true && data[f.name] !== undefined)
    .map((f) => ({
      id: uniqueValueId(tenantId, type.key, f.name, data[f.name]),
      type: type.key,
      field: f.name,
      entry_id: entryId,
    }))
}

/**
 * The unique-value rows an entry owns now. Read by `entry_id` rather than recomputed from
 * its data, so rows of fields that stopped being unique are found and removed too. Call
 * this after reading the entry: the write then expects the entry's version, and every
 * change to these rows comes with a version bump, so a stale read ends in `conflict`.
 */
async function uniqueRowsOf(db: AuditedDatabase, tenantId: string, entryId: string): Promise<UniqueRow[]> {
  const rows = await db.readKysely
    .selectFrom('entry_unique_values')
    .select(['id', 'type', 'field', 'entry_id'])
    .where('tenant_id', '=', tenantId)
    .where('entry_id', '=', entryId)
    .execute()
  return rows.map((r) => ({
    id: String(r.id),
    type: String(r.type),
    field: String(r.field),
    entry_id: String(r.entry_id),
  }))
}

/**
 * A friendly 409 naming the field when a value is already taken. Only a courtesy: the
 * primary key in the write transaction is what enforces uniqueness under concurrency.
 */
async function assertValuesFree(db: AuditedDatabase, tenantId: string, wanted: readonly UniqueRow[]) {
  if (wanted.length === 0) return
  const taken = await db.readKysely
    .selectFrom('entry_unique_values')
    .select(['id', 'entry_id'])
    .where('tenant_id', '=', tenantId)
    .where(
      'id',
      'in',
      wanted.map((w) => w.id),
    )
    .execute()
  const clash = wanted.find((w) => taken.some((t) => t.id === w.id && t.entry_id !== w.entry_id))
  if (clash !== undefined) {
    throw new AuditedError('conflict', `Another entry already has this "${clash.field}".`, {
      details: { field: clash.field },
    })
  }
}

/**
 * Runs the entry's write; when it fails with `conflict` (a racing writer took a value
 * between the pre-check and the write, and the primary key refused it), re-checks so the
 * client learns which field clashed. Any other conflict (a stale version) is rethrown.
 */
async function withUniqueConflicts<T>(
  db: AuditedDatabase,
  tenantId: string,
  wanted: readonly UniqueRow[],
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write()
  } catch (error) {
    if (error instanceof AuditedError && error.code === 'conflict')
      await assertValuesFree(db, tenantId, wanted)
    throw error
  }
}

/** Inside the entry's transaction: removes rows no longer wanted, adds the new ones. */
async function syncUniqueRows(
  tx: AuditedWriter,
  existing: readonly UniqueRow[],
  wanted: readonly UniqueRow[],
) {
  const keep = new Set(wanted.map((w) => w.id))
  const have = new Set(existing.map((e) => e.id))
  for (const old of existing) if (!keep.has(old.id)) await tx.delete(entryUniqueValues, old.id)
  for (const row of wanted) if (!have.has(row.id)) await tx.create(entryUniqueValues, row)
}

// ---------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------

/** One entry of this tenant and type, or `not_found`. */
async function loadEntry(db: AuditedDatabase, tenantId: string, type: string, id: string): Promise<EntryRow> {
  const raw = await db.readKysely
    .selectFrom('entries')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('type', '=', type)
    .where('id', '=', id)
    .executeTakeFirst()
  if (raw === undefined) throw new AuditedError('not_found', 'No such entry.', { details: { type, id } })
  return decodeRow(entries, raw) as unknown as EntryRow
}

const presentEntry = (row: EntryRow) => present(row)

type EntryCreate = Static<typeof EntryCreateBody>
type EntryPatch = Static<typeof EntryPatchBody>
type EntryAt = Static<typeof EntryParams>

/** The audit context and the tenant every query of the request is scoped to. */
interface Caller {
  readonly ctx: AuditContext
  readonly tenantId: string
}
const caller = (request: FastifyRequest): Caller => ({
  ctx: auditContext(request),
  tenantId: requirePrincipal(request).tenantId,
})

/** The entry and its unique-value rows, one transaction. */
async function createEntry(deps: RouteDeps, { ctx, tenantId }: Caller, key: string, body: EntryCreate) {
  const type = await loadType(deps.db, tenantId, key)
  const data = withoutNulls(body.data)
  await validateData(deps.db, tenantId, type, data)
  const id = newRecordId()
  const wanted = uniqueRowsFor(tenantId, type, id, data)
  await assertValuesFree(deps.db, tenantId, wanted)
  const values = { id, type: type.key, locale: body.locale ?? 'en', status: body.status ?? 'draft', data }
  return withUniqueConflicts(deps.db, tenantId, wanted, () =>
    deps.auditor.transaction(ctx, async (tx) => {
      const entry = await tx.create(entries, created(values))
      await syncUniqueRows(tx, [], wanted)
      return entry
    }),
  )
}

/**
 * Merges `data` over the stored data. The write expects the version the client sent or,
 * without one, the version the merge was computed from: a concurrent write in between is a
 * `conflict` instead of being overwritten by a merge of stale data.
 */
async function patchEntry(deps: RouteDeps, { ctx, tenantId }: Caller, at: EntryAt, body: EntryPatch) {
  const type = await loadType(deps.db, tenantId, at.type)
  const current = await loadEntry(deps.db, tenantId, type.key, at.id)
  const existing = await uniqueRowsOf(deps.db, tenantId, current.id)
  const expectedVersion = body.version ?? current.version
  const data = body.data === undefined ? undefined : mergeData(current.data, body.data)
  let wanted = existing
  if (data !== undefined) {
    await validateData(deps.db, tenantId, type, data)
    wanted = uniqueRowsFor(tenantId, type, current.id, data)
    await assertValuesFree(deps.db, tenantId, wanted)
  }
  const patch: Partial<EntryRow> = {}
  if (data !== undefined) patch.data = data
  if (body.locale !== undefined) patch.locale = body.locale
  return withUniqueConflicts(deps.db, tenantId, wanted, () =>
    deps.auditor.transaction(ctx, async (tx) => {
      const entry = await tx.update(entries, current.id, touched(patch), { expectedVersion })
      await syncUniqueRows(tx, existing, wanted)
      return entry
    }),
  )
}

/** The entry and its unique-value rows (freeing the values), one transaction. */
async function deleteEntry(deps: RouteDeps, { ctx, tenantId }: Caller, at: EntryAt) {
  const type = await loadType(deps.db, tenantId, at.type)
  const current = await loadEntry(deps.db, tenantId, type.key, at.id)
  const existing = await uniqueRowsOf(deps.db, tenantId, current.id)
  await deps.auditor.transaction(ctx, async (tx) => {
    // Expecting the version read above makes `existing` trustworthy (see `uniqueRowsOf`).
    await tx.delete(entries, current.id, { expectedVersion: current.version })
    await syncUniqueRows(tx, existing, [])
  })
}

/**
 * Sets the status; the engine records `publish` / `unpublish` because `entries` declares
 * `statusColumn`. Publishing re-validates the data against the type as it is now, so
 * published content always fits the current schema. Already in that status: nothing is
 * written (no empty event), the entry is returned as is.
 */
async function setStatus(
  deps: RouteDeps,
  { ctx, tenantId }: Caller,
  at: EntryAt,
  status: 'published' | 'draft',
  version: number | undefined,
) {
  const type = await loadType(deps.db, tenantId, at.type)
  const current = await loadEntry(deps.db, tenantId, type.key, at.id)
  if (version !== undefined && version !== current.version) {
    throw new AuditedError('conflict', 'The entry has changed since that version.', {
      details: { expectedVersion: version, currentVersion: current.version },
    })
  }
  if (current.status === status) return current
  if (status === 'published') await validateData(deps.db, tenantId, type, current.data)
  return deps.auditor.update(entries, current.id, touched({ status }), ctx, {
    expectedVersion: version ?? current.version,
  })
}

// ---------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------

/** Publish / unpublish may be sent without a body; Ajv would refuse `undefined` as an object. */
async function emptyBodyAsObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {}
}

const TYPE_READERS = allow('admin', 'editor', 'viewer')
const TYPE_WRITERS = allow('admin')
const ENTRY_READERS = allow('admin', 'editor', 'viewer')
const ENTRY_WRITERS = allow('admin', 'editor')

/** Content types and entries: `/api/v1/content-types…` and `/api/v1/entries/:type…`. */
export async function contentRoutes(app: App, deps: RouteDeps): Promise<void> {
  contentTypeRoutes(app, deps)
  entryRoutes(app, deps)
}

function contentTypeRoutes(app: App, deps: RouteDeps): void {
  const { db, auditor } = deps

  app.get(
    '/api/v1/content-types',
    { preValidation: TYPE_READERS, schema: { querystring: ContentTypeListQuery } },
    async (request) => {
      const { tenantId } = requirePrincipal(request)
      const page = await listPage(db, 'content_types', tenantId, request.query)
      const items = page.rows.map((r) => presentType(decodeRow(contentTypes, r) as unknown as ContentTypeRow))
      return { items, nextCursor: page.nextCursor }
    },
  )

  app.post(
    '/api/v1/content-types',
    { preValidation: TYPE_WRITERS, schema: { body: ContentTypeCreateBody } },
    async (request, reply) => {
      const fields = normaliseFields(request.body.fields)
      const values = { id: newRecordId(), key: request.body.key, name: request.body.name, fields }
      const row = await auditor.create(contentTypes, created(values), auditContext(request))
      return reply.code(201).send(presentType(row))
    },
  )

  app.get(
    '/api/v1/content-types/:key',
    { preValidation: TYPE_READERS, schema: { params: TypeParams } },
    async (request) =>
      presentType(await loadType(db, requirePrincipal(request).tenantId, request.params.key)),
  )

  // Field changes apply to later writes: stored entries are not rewritten, and are
  // validated against the new fields on their next data PATCH or publish (a removed
  // field can be cleared with `null`). Only a new `unique` flag is refused while entries
  // exist (see `assertNoNewUniqueWithEntries`).
  app.patch(
    '/api/v1/content-types/:key',
    { preValidation: TYPE_WRITERS, schema: { params: TypeParams, body: ContentTypePatchBody } },
    async (request) => {
      const { tenantId } = requirePrincipal(request)
      const type = await loadType(db, tenantId, request.params.key)
      const patch: Partial<ContentTypeRow> = {}
      if (request.body.name !== undefined) patch.name = request.body.name
      if (request.body.fields !== undefined) {
        patch.fields = normaliseFields(request.body.fields)
        await assertNoNewUniqueWithEntries(db, tenantId, type, patch.fields)
      }
      const expectedVersion = request.body.version
      const row = await auditor.update(contentTypes, type.id, touched(patch), auditContext(request), {
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      })
      return presentType(row)
    },
  )

  app.delete(
    '/api/v1/content-types/:key',
    { preValidation: TYPE_WRITERS, schema: { params: TypeParams } },
    async (request, reply) => {
      const { tenantId } = requirePrincipal(request)
      const type = await loadType(db, tenantId, request.params.key)
      // Checked before the write, not inside it (the writer cannot read): an entry created
      // concurrently can survive its type. Entries of a missing type are then 404, not lost.
      if (await typeHasEntries(db, tenantId, type.key)) {
        throw new AuditedError('conflict', 'The content type still has entries.', {
          details: { key: type.key },
        })
      }
      await auditor.delete(contentTypes, type.id, auditContext(request), { expectedVersion: type.version })
      return reply.code(204).send()
    },
  )
}

function entryRoutes(app: App, deps: RouteDeps): void {
  const { db } = deps

  app.get(
    '/api/v1/entries/:type',
    {
      preValidation: ENTRY_READERS,
      schema: { params: EntryTypeParams, querystring: EntryListQuery },
    },
    async (request) => {
      const { tenantId } = requirePrincipal(request)
      const type = await loadType(db, tenantId, request.params.type)
      const { status, locale, after, limit } = request.query
      const page = await listEntries(db, tenantId, type.key, { after, limit, status, locale })
      const items = page.rows.map((r) => presentEntry(decodeRow(entries, r) as unknown as EntryRow))
      return { items, nextCursor: page.nextCursor }
    },
  )

  app.post(
    '/api/v1/entries/:type',
    { preValidation: ENTRY_WRITERS, schema: { params: EntryTypeParams, body: EntryCreateBody } },
    async (request, reply) => {
      const entry = await createEntry(deps, caller(request), request.params.type, request.body)
      return reply.code(201).send(presentEntry(entry))
    },
  )

  app.get(
    '/api/v1/entries/:type/:id',
    { preValidation: ENTRY_READERS, schema: { params: EntryParams } },
    async (request) => {
      const { tenantId } = requirePrincipal(request)
      const type = await loadType(db, tenantId, request.params.type)
      return presentEntry(await loadEntry(db, tenantId, type.key, request.params.id))
    },
  )

  app.patch(
    '/api/v1/entries/:type/:id',
    { preValidation: ENTRY_WRITERS, schema: { params: EntryParams, body: EntryPatchBody } },
    async (request) => presentEntry(await patchEntry(deps, caller(request), request.params, request.body)),
  )

  app.delete(
    '/api/v1/entries/:type/:id',
    { preValidation: ENTRY_WRITERS, schema: { params: EntryParams } },
    async (request, reply) => {
      await deleteEntry(deps, caller(request), request.params)
      return reply.code(204).send()
    },
  )

  for (const [action, status] of [
    ['publish', 'published'],
    ['unpublish', 'draft'],
  ] as const) {
    app.post(
      `/api/v1/entries/:type/:id/${action}`,
      {
        // the role check first (403 before any 400), then an empty body becomes {}
        preValidation: [ENTRY_WRITERS, emptyBodyAsObject],
        schema: { params: EntryParams, body: StatusChangeBody },
      },
      async (request) =>
        presentEntry(await setStatus(deps, caller(request), request.params, status, request.body.version)),
    )
  }
}
