import { createPublicKey } from 'node:crypto'
import { AuditedError, decodeRow } from 'audited'
import { type Static, Type } from 'typebox'
import { CMS_ENTITIES } from '../../cms/entities.js'
import {
  createWebhook,
  deleteWebhook,
  patchWebhook,
  rotateWebhookSecret,
} from '../../cms/webhook-operations.js'
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../webhooks/delivery-store.js'
import type { WebhookRuntime } from '../../webhooks/runtime.js'
import { webhookPublicKey } from '../../webhooks/signing.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { getOne, IdParams, listPage, PageQuery, pageOf, present, sendCreated } from '../resource.js'
import { AUTHORIZED, created, errors, NoContent, ref } from '../schemas/envelope.js'
import { HttpUrl } from './assets.js'
import type { RouteDeps } from './deps.js'

const op = (operationId: string, summary: string) => ({ tags: ['webhooks'], operationId, summary })
const READERS = allow('admin', 'editor', 'viewer')
const ADMINS = allow('admin')
/** Never shown after creation (rotation shows the new one once); events mask them. */
const SECRETS = ['secret', 'previous_secret'] as const

/** `*`, `<table>.*`, `*.<action>`, `<table>.<action>` (checked against the CMS's tables). */
const WebhookEvents = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  minItems: 1,
  maxItems: 32,
  uniqueItems: true,
})
const Ordering = Type.Union([Type.Literal('record'), Type.Literal('none')])
const WebhookBody = Type.Object(
  {
    url: HttpUrl,
    events: WebhookEvents,
    active: Type.Optional(Type.Boolean()),
    ordering: Type.Optional(Ordering),
  },
  { additionalProperties: false },
)
const WebhookPatch = Type.Object(
  {
    url: Type.Optional(HttpUrl),
    events: Type.Optional(WebhookEvents),
    active: Type.Optional(Type.Boolean()),
    ordering: Type.Optional(Ordering),
  },
  { additionalProperties: false, minProperties: 1 },
)
const ListQuery = Type.Object(PageQuery, { additionalProperties: false })
type ListQuery = Static<typeof ListQuery>
const DeliveryQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
  },
  { additionalProperties: false },
)
const EventId = Type.String({ pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' })
const ReplayBody = Type.Union([
  Type.Object({ eventId: EventId }, { additionalProperties: false }),
  Type.Object(
    { from: Type.String({ maxLength: 40 }), to: Type.String({ maxLength: 40 }) },
    { additionalProperties: false },
  ),
])

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** Webhook subscriptions of the caller's tenant, their deliveries, replays and pings. */
export async function webhookRoutes(app: App, deps: RouteDeps & { webhooks: WebhookRuntime }): Promise<void> {
  const { db, webhooks: runtime } = deps
  const policy = runtime.options.policy
  const show = (row: object) =>
    present(decodeRow(CMS_ENTITIES.webhooks, row as Record<string, unknown>), SECRETS)

  app.get(
    '/api/v1/webhooks',
    {
      preValidation: READERS,
      schema: {
        ...op('listWebhooks', "List the tenant's webhooks (never their secrets)"),
        querystring: ListQuery,
        response: { 200: ref('WebhookPage'), ...errors(...AUTHORIZED) },
      },
    },
    async (request) => {
      const page = await listPage(
        db,
        'webhooks',
        requirePrincipal(request).tenantId,
        request.query as ListQuery,
      )
      return pageOf(page.rows.map(show), page.nextCursor)
    },
  )
  app.get(
    '/api/v1/webhooks/public-key',
    {
      preValidation: READERS,
      schema: {
        ...op(
          'getWebhookPublicKey',
          "The Ed25519 key that signs deliveries' v1a signatures (404 when none is set)",
        ),
        response: { 200: ref('WebhookPublicKey'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async () => {
      const key = runtime.options.ed25519Key
      if (key === undefined) throw new AuditedError('not_found', 'No Ed25519 signing key is configured.')
      return { publicKey: webhookPublicKey(createPublicKey(key)) }
    },
  )
  app.get(
    '/api/v1/webhooks/:id',
    {
      preValidation: READERS,
      schema: {
        ...op('getWebhook', 'Read a webhook (never its secret)'),
        params: IdParams,
        response: { 200: ref('Webhook'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) =>
      show(await getOne(db, 'webhooks', requirePrincipal(request).tenantId, request.params.id)),
  )
  app.post(
    '/api/v1/webhooks',
    {
      preValidation: ADMINS,
      schema: {
        ...op('createWebhook', 'Create a webhook (its signing secret is shown once)'),
        body: WebhookBody,
        response: { 201: created('WebhookCreated'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const row = await createWebhook(deps, callerOf(request), request.body, policy)
      // The only time the secret leaves the server: the receiver needs it to check signatures.
      return sendCreated(reply, `/api/v1/webhooks/${row.id}`, present(row, ['previous_secret']))
    },
  )
  app.patch(
    '/api/v1/webhooks/:id',
    {
      preValidation: ADMINS,
      schema: {
        ...op('patchWebhook', 'Change a webhook (url, events, active, ordering)'),
        params: IdParams,
        body: WebhookPatch,
        response: { 200: ref('Webhook'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request) =>
      show(await patchWebhook(deps, callerOf(request), request.params.id, request.body, policy)),
  )
  app.delete(
    '/api/v1/webhooks/:id',
    {
      preValidation: ADMINS,
      schema: {
        ...op('deleteWebhook', 'Delete a webhook'),
        params: IdParams,
        response: { 204: NoContent, ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      await deleteWebhook(deps, callerOf(request), request.params.id)
      return reply.code(204).send()
    },
  )
  app.post(
    '/api/v1/webhooks/:id/rotate-secret',
    {
      preValidation: ADMINS,
      schema: {
        ...op('rotateWebhookSecret', 'A new signing secret (shown once); the old one also signs for 24 h'),
        params: IdParams,
        response: { 200: ref('WebhookSecret'), ...errors(...AUTHORIZED, 404, 409, 413, 429) },
      },
    },
    async (request) => {
      const row = await rotateWebhookSecret(deps, callerOf(request), request.params.id)
      return { secret: row.secret, previousSecretUntil: new Date(row.previous_secret_until!).toISOString() }
    },
  )
  app.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      preValidation: ADMINS,
      schema: {
        ...op('listWebhookDeliveries', "A webhook's deliveries, newest first, each with every attempt"),
        params: IdParams,
        querystring: DeliveryQuery,
        response: { 200: ref('WebhookDeliveryPage'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => {
      const tenantId = requirePrincipal(request).tenantId
      await getOne(db, 'webhooks', tenantId, request.params.id) // 404 for another tenant's
      const q = request.query as { status?: DeliveryStatus; limit?: number; after?: string }
      const limit = q.limit ?? 50
      const rows = await runtime.store.list(request.params.id, {
        limit: limit + 1,
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.after === undefined ? {} : { before: q.after }),
      })
      const page = rows.slice(0, limit)
      const attempts = await runtime.store.attemptsOf(page.map((d) => d.id))
      const items = page.map((d) => ({
        id: d.id,
        eventId: d.eventId,
        type: d.type,
        status: d.status,
        attemptCount: d.attempts,
        nextAttemptAt: d.status === 'pending' || d.status === 'retrying' ? iso(d.nextAttemptAt) : null,
        lastStatus: d.lastStatus,
        lastError: d.lastError,
        createdAt: iso(d.createdAt),
        updatedAt: iso(d.updatedAt),
        attempts: (attempts.get(d.id) ?? []).map((a) => ({
          at: iso(a.at),
          outcome: a.outcome,
          status: a.status,
          latencyMs: a.latencyMs,
          error: a.error,
          nextAttemptAt: iso(a.nextAttemptAt),
        })),
      }))
      return pageOf(items, rows.length > limit ? page.at(-1)!.id : null)
    },
  )
  app.post(
    '/api/v1/webhooks/:id/replay',
    {
      preValidation: ADMINS,
      schema: {
        ...op(
          'replayWebhook',
          'Deliver an event again ({ eventId }) or every matching event of a time range ({ from, to })',
        ),
        params: IdParams,
        body: ReplayBody,
        response: { 202: ref('WebhookReplay'), ...errors(...AUTHORIZED, 404, 409, 413, 429) },
      },
    },
    async (request, reply) => {
      const queued = await runtime.replay(request.params.id, requirePrincipal(request).tenantId, request.body)
      return reply.code(202).send({ queued })
    },
  )
  app.post(
    '/api/v1/webhooks/:id/test',
    {
      preValidation: ADMINS,
      schema: {
        ...op('testWebhook', 'Send a signed webhook.ping now and show what came back'),
        params: IdParams,
        response: { 200: ref('WebhookPing'), ...errors(...AUTHORIZED, 404, 409, 413, 429) },
      },
    },
    async (request) => runtime.ping(request.params.id, requirePrincipal(request).tenantId),
  )
}
