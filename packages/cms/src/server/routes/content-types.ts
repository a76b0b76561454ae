import { decodeRow } from 'audited'
import { type Static, Type } from 'typebox'
import { FIELD_TYPES } from '../../cms/content-fields.js'
import {
  createContentType,
  deleteContentType,
  loadType,
  patchContentType,
} from '../../cms/content-type-operations.js'
import { type ContentTypeRow, contentTypes } from '../../cms/entities.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { listPage, PageQuery, pageOf, present, sendCreated } from '../resource.js'
import { AUTHORIZED, created, errors, NoContent, ref } from '../schemas/envelope.js'
import type { RouteDeps } from './deps.js'

export const TYPE_KEY = '^[a-z][a-z0-9_]{0,63}$'

const FieldSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }),
    type: Type.Union(FIELD_TYPES.map((t) => Type.Literal(t))),
    required: Type.Optional(Type.Boolean()),
    unique: Type.Optional(Type.Boolean()),
    options: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000 })),
    personal: Type.Optional(Type.Boolean({ description: 'Personal data: encrypted in events, erasable' })),
    subject: Type.Optional(Type.Boolean({ description: "Holds the id of the entry's data subject" })),
  },
  { additionalProperties: false },
)

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

const ContentTypeListQuery = Type.Object(PageQuery, { additionalProperties: false })

/** Field schemas as sent, typed for the domain operations. */
export type FieldBody = Static<typeof FieldSchema>

const TYPE_READERS = allow('admin', 'editor', 'viewer')
const TYPE_WRITERS = allow('admin')

const TAGS = { tags: ['content-types'] }

const presentType = (row: ContentTypeRow) => present(row)

/** `/api/v1/content-types…`: parse, authorize, call the domain operation, present. */
export function contentTypeRoutes(app: App, deps: RouteDeps): void {
  const { db } = deps

  app.get(
    '/api/v1/content-types',
    {
      preValidation: TYPE_READERS,
      schema: {
        ...TAGS,
        operationId: 'listContentTypes',
        summary: "List the tenant's content types",
        querystring: ContentTypeListQuery,
        response: { 200: ref('ContentTypePage'), ...errors(...AUTHORIZED) },
      },
    },
    async (request) => {
      const { tenantId } = requirePrincipal(request)
      const page = await listPage(db, 'content_types', tenantId, request.query)
      const items = page.rows.map((r) => presentType(decodeRow(contentTypes, r) as unknown as ContentTypeRow))
      return pageOf(items, page.nextCursor)
    },
  )

  app.post(
    '/api/v1/content-types',
    {
      preValidation: TYPE_WRITERS,
      schema: {
        ...TAGS,
        operationId: 'createContentType',
        summary: 'Create a content type',
        body: ContentTypeCreateBody,
        response: { 201: created('ContentType'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const row = await createContentType(deps, callerOf(request), request.body)
      return sendCreated(reply, `/api/v1/content-types/${row.key}`, presentType(row))
    },
  )

  app.get(
    '/api/v1/content-types/:key',
    {
      preValidation: TYPE_READERS,
      schema: {
        ...TAGS,
        operationId: 'getContentType',
        summary: 'Read a content type',
        params: TypeParams,
        response: { 200: ref('ContentType'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) =>
      presentType(await loadType(db, requirePrincipal(request).tenantId, request.params.key)),
  )

  app.patch(
    '/api/v1/content-types/:key',
    {
      preValidation: TYPE_WRITERS,
      schema: {
        ...TAGS,
        operationId: 'patchContentType',
        summary: 'Change a content type (name, fields; optional expected version)',
        params: TypeParams,
        body: ContentTypePatchBody,
        response: { 200: ref('ContentType'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request) =>
      presentType(await patchContentType(deps, callerOf(request), request.params.key, request.body)),
  )

  app.delete(
    '/api/v1/content-types/:key',
    {
      preValidation: TYPE_WRITERS,
      schema: {
        ...TAGS,
        operationId: 'deleteContentType',
        summary: 'Delete a content type (409 while it has entries)',
        params: TypeParams,
        response: { 204: NoContent, ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      await deleteContentType(deps, callerOf(request), request.params.key)
      return reply.code(204).send()
    },
  )
}
