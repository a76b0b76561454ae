import { type Static, Type } from 'typebox'
import {
  createLocale,
  createMedia,
  createWebhook,
  deleteWebhook,
  patchWebhook,
} from '../../cms/asset-operations.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { getOne, IdParams, listPage, PageQuery, present } from '../resource.js'
import type { RouteDeps } from './deps.js'

/**
 * The app's Ajv does not coerce types, so a query-string `limit` is a string: the shared
 * `PageQuery.limit` (an integer) would reject every value. Digits here, converted below.
 */
const AssetPageQuery = Type.Object(
  {
    after: PageQuery.after,
    limit: Type.Optional(Type.String({ pattern: '^([1-9]|[1-9][0-9]|1[0-9][0-9]|200)$' })),
  },
  { additionalProperties: false },
)
type AssetPageQuery = Static<typeof AssetPageQuery>

/** An absolute http(s) URL with a host; no whitespace (it is called or served as is). */
const HttpUrl = Type.String({ maxLength: 2000, pattern: '^https?://[^\\s/?#@]+([/?#][^\\s]*)?$' })

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

/** `entry.published`, `entry.*`, `*`. */
const WebhookEvents = Type.Array(
  Type.String({ maxLength: 64, pattern: '^(\\*|[a-z][a-z0-9_]*(\\.([a-z][a-z0-9_]*|\\*))*)$' }),
  { minItems: 1, maxItems: 32, uniqueItems: true },
)
const WebhookBody = Type.Object(
  { url: HttpUrl, events: WebhookEvents, active: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)
const WebhookPatch = Type.Object(
  {
    url: Type.Optional(HttpUrl),
    events: Type.Optional(WebhookEvents),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
)

const READERS = allow('admin', 'editor', 'viewer')
const ADMINS = allow('admin')
const MEDIA_WRITERS = allow('admin', 'editor')

/** Never shown after creation; in events the entity masks it as "[redacted]". */
const WEBHOOK_SECRETS = ['secret'] as const

/**
 * Routes: locales, media metadata and webhooks of the caller's tenant. Every write goes
 * through its domain operation (src/cms/asset-operations.ts); lists are keyset pages on the id.
 */
export async function assetsRoutes(app: App, deps: RouteDeps): Promise<void> {
  const { db } = deps

  /** `{ items, nextCursor }` of a tenant table, each row shown without `omit`. */
  const list = async (table: string, tenantId: string, q: AssetPageQuery, omit: readonly string[] = []) => {
    const page = await listPage(db, table, tenantId, {
      after: q.after,
      limit: q.limit === undefined ? undefined : Number(q.limit),
    })
    return { items: page.rows.map((row) => present(row, omit)), nextCursor: page.nextCursor }
  }

  app.get(
    '/api/v1/locales',
    { preValidation: READERS, schema: { querystring: AssetPageQuery } },
    async (request) => list('locales', requirePrincipal(request).tenantId, request.query),
  )
  app.post(
    '/api/v1/locales',
    { preValidation: ADMINS, schema: { body: LocaleBody } },
    async (request, reply) => {
      // A duplicate code hits the (tenant_id, code) unique key: the engine answers `conflict`.
      const row = await createLocale(deps, callerOf(request), request.body)
      return reply.code(201).send(present(row))
    },
  )

  app.get(
    '/api/v1/media',
    { preValidation: READERS, schema: { querystring: AssetPageQuery } },
    async (request) => {
      const page = await list('media', requirePrincipal(request).tenantId, request.query)
      return { ...page, items: page.items.map(withNumericSize) }
    },
  )
  app.post(
    '/api/v1/media',
    { preValidation: MEDIA_WRITERS, schema: { body: MediaBody } },
    async (request, reply) => {
      const row = await createMedia(deps, callerOf(request), request.body)
      return reply.code(201).send(withNumericSize(present(row)))
    },
  )

  app.get(
    '/api/v1/webhooks',
    { preValidation: READERS, schema: { querystring: AssetPageQuery } },
    async (request) => list('webhooks', requirePrincipal(request).tenantId, request.query, WEBHOOK_SECRETS),
  )
  app.get(
    '/api/v1/webhooks/:id',
    { preValidation: READERS, schema: { params: IdParams } },
    async (request) => {
      const row = await getOne(db, 'webhooks', requirePrincipal(request).tenantId, request.params.id)
      return present(row, WEBHOOK_SECRETS)
    },
  )
  app.post(
    '/api/v1/webhooks',
    { preValidation: ADMINS, schema: { body: WebhookBody } },
    async (request, reply) => {
      const row = await createWebhook(deps, callerOf(request), request.body)
      // The only time the secret leaves the server: the receiver needs it to check signatures.
      return reply.code(201).send(present(row))
    },
  )
  app.patch(
    '/api/v1/webhooks/:id',
    { preValidation: ADMINS, schema: { params: IdParams, body: WebhookPatch } },
    async (request) => {
      const row = await patchWebhook(deps, callerOf(request), request.params.id, request.body)
      return present(row, WEBHOOK_SECRETS)
    },
  )
  app.delete(
    '/api/v1/webhooks/:id',
    { preValidation: ADMINS, schema: { params: IdParams } },
    async (request, reply) => {
      await deleteWebhook(deps, callerOf(request), request.params.id)
      return reply.code(204).send()
    },
  )
}

/** `size` is a BIGINT (a decimal string in rows); the API shows the number it accepted. */
function withNumericSize(item: Record<string, unknown>): Record<string, unknown> {
  return { ...item, size: Number(item.size) }
}
