import { decodeRow } from 'audited'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { loadType } from '../../cms/content-type-operations.js'
import { type EntryRow, entries } from '../../cms/entities.js'
import { listEntries } from '../../cms/entry-list.js'
import {
  createEntry,
  deleteEntry,
  loadEntry,
  patchEntry,
  setEntryStatus,
} from '../../cms/entry-operations.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { PageQuery, pageOf, present, sendCreated } from '../resource.js'
import { AUTHORIZED, created, errors, NoContent, OPTIONAL_BODY, ref } from '../schemas/envelope.js'
import { TYPE_KEY } from './content-types.js'
import type { RouteDeps } from './deps.js'

const ULID = '^[0-9A-HJKMNP-TV-Z]{26}$'
/** BCP 47-ish (`en`, `pt-BR`, `zh-Hant-TW`); the column is varchar(16). */
const LOCALE = '^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,2}$'

const Status = Type.Union([Type.Literal('draft'), Type.Literal('published'), Type.Literal('archived')])

const EntryTypeParams = Type.Object({ type: Type.String({ pattern: TYPE_KEY }) })
const EntryParams = Type.Object({
  type: Type.String({ pattern: TYPE_KEY }),
  id: Type.String({ pattern: ULID }),
})

const EntryData = Type.Record(Type.String(), Type.Unknown())

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

/** Publish / unpublish may be sent without a body; Ajv would refuse `undefined` as an object. */
async function emptyBodyAsObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {}
}

const ENTRY_READERS = allow('admin', 'editor', 'viewer')
const ENTRY_WRITERS = allow('admin', 'editor')

const TAGS = { tags: ['entries'] }

const presentEntry = (row: EntryRow) => present(row)

/** `/api/v1/entries/:type…`: parse, authorize, call the domain operation, present. */
export function entryRoutes(app: App, deps: RouteDeps): void {
  const { db } = deps

  app.get(
    '/api/v1/entries/:type',
    {
      preValidation: ENTRY_READERS,
      schema: {
        ...TAGS,
        operationId: 'listEntries',
        summary: 'List the entries of a content type (filters: status, locale)',
        params: EntryTypeParams,
        querystring: EntryListQuery,
        response: { 200: ref('EntryPage'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => {
      const { tenantId } = requirePrincipal(request)
      const type = await loadType(db, tenantId, request.params.type)
      const { status, locale, after, limit } = request.query
      const page = await listEntries(db, tenantId, type.key, { after, limit, status, locale })
      const items = page.rows.map((r) => presentEntry(decodeRow(entries, r) as unknown as EntryRow))
      return pageOf(items, page.nextCursor)
    },
  )

  app.post(
    '/api/v1/entries/:type',
    {
      preValidation: ENTRY_WRITERS,
      schema: {
        ...TAGS,
        operationId: 'createEntry',
        summary: 'Create an entry (its data checked against the content type)',
        params: EntryTypeParams,
        body: EntryCreateBody,
        response: { 201: created('Entry'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request)
      const type = await loadType(db, caller.tenantId, request.params.type)
      const entry = await createEntry(deps, caller, type, request.body)
      return sendCreated(reply, `/api/v1/entries/${type.key}/${entry.id}`, presentEntry(entry))
    },
  )

  app.get(
    '/api/v1/entries/:type/:id',
    {
      preValidation: ENTRY_READERS,
      schema: {
        ...TAGS,
        operationId: 'getEntry',
        summary: 'Read an entry',
        params: EntryParams,
        response: { 200: ref('Entry'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => {
      const { tenantId } = requirePrincipal(request)
      const type = await loadType(db, tenantId, request.params.type)
      return presentEntry(await loadEntry(db, tenantId, type.key, request.params.id))
    },
  )

  app.patch(
    '/api/v1/entries/:type/:id',
    {
      preValidation: ENTRY_WRITERS,
      schema: {
        ...TAGS,
        operationId: 'patchEntry',
        summary: 'Change an entry (data merged; a stale `version` is 409 conflict)',
        params: EntryParams,
        body: EntryPatchBody,
        response: { 200: ref('Entry'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request) => presentEntry(await patchEntry(deps, callerOf(request), request.params, request.body)),
  )

  app.delete(
    '/api/v1/entries/:type/:id',
    {
      preValidation: ENTRY_WRITERS,
      schema: {
        ...TAGS,
        operationId: 'deleteEntry',
        summary: 'Delete an entry',
        params: EntryParams,
        response: { 204: NoContent, ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      await deleteEntry(deps, callerOf(request), request.params)
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
        schema: {
          ...TAGS,
          ...OPTIONAL_BODY,
          operationId: `${action}Entry`,
          summary: `${action === 'publish' ? 'Publish' : 'Unpublish'} an entry (optional expected version; body optional)`,
          params: EntryParams,
          body: StatusChangeBody,
          response: { 200: ref('Entry'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
        },
      },
      async (request) =>
        presentEntry(
          await setEntryStatus(deps, callerOf(request), request.params, status, request.body.version),
        ),
    )
  }
}
