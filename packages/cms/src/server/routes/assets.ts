import { decodeRow } from 'audited'
import type { FastifyRequest } from 'fastify'
import { type Static, Type } from 'typebox'
import { createLocale, createMedia } from '../../cms/asset-operations.js'
import { CMS_ENTITIES } from '../../cms/entities.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { getOne, IdParams, listPage, PageQuery, pageOf, present, sendCreated } from '../resource.js'
import { AUTHORIZED, created, errors, ref } from '../schemas/envelope.js'
import type { RouteDeps } from './deps.js'

const AssetPageQuery = Type.Object(PageQuery, { additionalProperties: false })
type AssetPageQuery = Static<typeof AssetPageQuery>

/** An absolute http(s) URL with a host; no whitespace (it is called or served as is). */
export const HttpUrl = Type.String({ maxLength: 2000, pattern: '^https?://[^\\s/?#@]+([/?#][^\\s]*)?$' })

/** A BCP 47 subset: language, optional script, optional region (`en`, `en-US`, `zh-Hant-TW`). */
const LocaleBody = Type.Object(
  {
    code: Type.String({ pattern: '^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$' }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
)

const MediaBody = Type.Object(
  {
    filename: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\\\\\x00-\\x1f]+$' }),
    // `type/subtype` with RFC 6838 name characters.
    mime: Type.String({
      maxLength: 100,
      pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}$',
    }),
    // Stored as BIGINT; a JSON number is exact only up to 2^53.
    size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    checksum: Type.String({ minLength: 8, maxLength: 128, pattern: '^[A-Za-z0-9:+/=_-]+$' }),
    url: HttpUrl,
  },
  { additionalProperties: false },
)

type AssetTable = 'locales' | 'media'

/** The OpenAPI facts of an operation. */
const op = (tag: string, operationId: string, summary: string) => ({ tags: [tag], operationId, summary })

const READERS = allow('admin', 'editor', 'viewer')
const ADMINS = allow('admin')
const MEDIA_WRITERS = allow('admin', 'editor')

/**
 * Routes: locales and media metadata of the caller's tenant (webhooks: routes/webhooks.ts). Every write goes
 * through its domain operation (src/cms/asset-operations.ts); lists are keyset pages on the id.
 */
export async function assetsRoutes(app: App, deps: RouteDeps): Promise<void> {
  const { db } = deps

  /** `{ items, nextCursor, hasMore }` of a tenant table, each row shown without `omit`. */
  const list = async (
    table: AssetTable,
    tenantId: string,
    q: AssetPageQuery,
    omit: readonly string[] = [],
  ) => {
    const page = await listPage(db, table, tenantId, q)
    return pageOf(
      page.rows.map((row) => present(decodeRow(CMS_ENTITIES[table], row), omit)),
      page.nextCursor,
    )
  }
  /** One record of a tenant table, shown without `omit`. */
  const one = async (table: AssetTable, request: FastifyRequest, id: string, omit: readonly string[] = []) =>
    present(
      decodeRow(CMS_ENTITIES[table], await getOne(db, table, requirePrincipal(request).tenantId, id)),
      omit,
    )

  app.get(
    '/api/v1/locales',
    {
      preValidation: READERS,
      schema: {
        ...op('locales', 'listLocales', "List the tenant's locales"),
        querystring: AssetPageQuery,
        response: { 200: ref('LocalePage'), ...errors(...AUTHORIZED) },
      },
    },
    async (request) => list('locales', requirePrincipal(request).tenantId, request.query),
  )
  app.post(
    '/api/v1/locales',
    {
      preValidation: ADMINS,
      schema: {
        ...op('locales', 'createLocale', 'Add a locale (a duplicate code is 409)'),
        body: LocaleBody,
        response: { 201: created('Locale'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      // A duplicate code hits the (tenant_id, code) unique key: the engine answers `conflict`.
      const row = await createLocale(deps, callerOf(request), request.body)
      return sendCreated(reply, `/api/v1/locales/${row.id}`, present(row))
    },
  )
  app.get(
    '/api/v1/locales/:id',
    {
      preValidation: READERS,
      schema: {
        ...op('locales', 'getLocale', 'Read a locale'),
        params: IdParams,
        response: { 200: ref('Locale'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => one('locales', request, request.params.id),
  )

  app.get(
    '/api/v1/media',
    {
      preValidation: READERS,
      schema: {
        ...op('media', 'listMedia', "List the tenant's media metadata"),
        querystring: AssetPageQuery,
        response: { 200: ref('MediaPage'), ...errors(...AUTHORIZED) },
      },
    },
    async (request) => {
      const page = await list('media', requirePrincipal(request).tenantId, request.query)
      return { ...page, items: page.items.map(withNumericSize) }
    },
  )
  app.post(
    '/api/v1/media',
    {
      preValidation: MEDIA_WRITERS,
      schema: {
        ...op('media', 'createMedia', 'Record a media file (metadata only: the file lives at `url`)'),
        body: MediaBody,
        response: { 201: created('Media'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const row = await createMedia(deps, callerOf(request), request.body)
      return sendCreated(reply, `/api/v1/media/${row.id}`, withNumericSize(present(row)))
    },
  )
  app.get(
    '/api/v1/media/:id',
    {
      preValidation: READERS,
      schema: {
        ...op('media', 'getMedia', 'Read a media record'),
        params: IdParams,
        response: { 200: ref('Media'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => withNumericSize(await one('media', request, request.params.id)),
  )
}

/** `size` is a BIGINT (a decimal string in rows); the API shows the number it accepted. */
function withNumericSize(item: Record<string, unknown>): Record<string, unknown> {
  return { ...item, size: Number(item.size) }
}
