import { Readable } from 'node:stream'
import type { Auditor, Entity, EventPage, ListEventsQuery } from 'audited'
import { ACTIONS, AuditedError, type ExportFormat, exportChunks } from 'audited'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type Static, Type } from 'typebox'
import { CMS_ENTITIES } from '../../cms/entities.js'
import { type RestorableTable, restoreRecord } from '../../cms/record-restore.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { presentRecord } from '../resource.js'
import { AUTHORIZED, errors, ref } from '../schemas/envelope.js'
import type { RouteDeps } from './deps.js'

const ULID = '^[0-9A-HJKMNP-TV-Z]{26}$'

/**
 * An ISO date (`2024-05-01`, `2024-05-01T12:00:00Z`) or an HLC decimal string. The pattern
 * only keeps obvious garbage out; the engine parses the value and answers `validation`
 * for a date that does not exist.
 */
const PointInTime = Type.String({
  pattern: '^(\\d{1,20}|\\d{4}-\\d\\d-\\d\\d([T ][0-9:.]+(Z|[+-]\\d\\d:?\\d\\d)?)?)$',
})

/** A page size (query-string digits are converted by src/server/query-integers.ts). */
const Limit = Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (default 100)' })
const Cursor = Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' })

/** `stored=true`: events as stored (personal values encrypted), the form their leaves hash. */
const Stored = Type.Union([Type.Literal('true'), Type.Literal('false')], {
  description: 'true: as stored, personal values encrypted: the form the Merkle leaves hash (proofs)',
})

const ListQuery = Type.Object(
  {
    table: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    recordId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    actorId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    action: Type.Optional(Type.Union(ACTIONS.map((a) => Type.Literal(a)))),
    from: Type.Optional(PointInTime),
    to: Type.Optional(PointInTime),
    after: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
    order: Type.Optional(
      Type.Union([Type.Literal('asc'), Type.Literal('desc')], {
        description: 'asc (default): oldest first; desc: newest first (after continues with older events)',
      }),
    ),
    stored: Type.Optional(Stored),
  },
  { additionalProperties: false },
)
type ListQuery = Static<typeof ListQuery>
const GetQuery = Type.Object({ stored: Type.Optional(Stored) }, { additionalProperties: false })

const EventParams = Type.Object({ eventId: Type.String({ pattern: ULID }) })
const RecordParams = Type.Object({
  table: Type.String({ minLength: 1, maxLength: 64 }),
  id: Type.String({ minLength: 1, maxLength: 255 }),
})
type RecordParams = Static<typeof RecordParams>
const HistoryQuery = Type.Object(
  { limit: Type.Optional(Limit), after: Type.Optional(Cursor) },
  { additionalProperties: false },
)
const StateQuery = Type.Object({ at: PointInTime }, { additionalProperties: false })
const RestoreBody = Type.Object(
  {
    eventId: Type.String({ pattern: ULID }),
    // Entries only: the publish status after the restore (default: unchanged).
    status: Type.Optional(Type.Union([Type.Literal('draft'), Type.Literal('published')])),
  },
  { additionalProperties: false },
)
const ExportQuery = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('ndjson'), Type.Literal('csv')])),
    from: Type.Optional(PointInTime),
    to: Type.Optional(PointInTime),
  },
  { additionalProperties: false },
)

/** The largest page `events.list` serves: the export reads in these steps. */
const EXPORT_PAGE = 1000

/**
 * Routes: the change-event trail of the caller's tenant (list, one event, a record's
 * history, its state at a point in time, restore, streamed export). Readable by `admin`
 * and `auditor`; restore is `admin` only. Every engine query carries the principal's
 * tenant, so another tenant's event or record is `not_found`, never an empty success.
 */
export async function auditRoutes(app: App, deps: RouteDeps): Promise<void> {
  const readers = { preValidation: allow('admin', 'auditor') }
  const { auditor } = deps

  app.get(
    '/api/v1/audit/events',
    {
      ...readers,
      schema: {
        ...op(
          'listEvents',
          "List the tenant's change events in commit order (filters; poll with nextCursor)",
        ),
        querystring: ListQuery,
        response: { 200: ref('ChangeEventPage'), ...errors(...AUTHORIZED) },
      },
    },
    async (request) => eventPage(await auditor.events.list(listQuery(tenantOf(request), request.query))),
  )

  app.get(
    '/api/v1/audit/events/:eventId',
    {
      ...readers,
      schema: {
        ...op('getEvent', 'Read one change event'),
        params: EventParams,
        querystring: GetQuery,
        response: { 200: ref('ChangeEvent'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) =>
      auditor.events.get(request.params.eventId, {
        tenantId: tenantOf(request),
        stored: request.query.stored === 'true',
      }),
  )

  app.get(
    '/api/v1/audit/history/:table/:id',
    {
      ...readers,
      schema: {
        ...op('getHistory', "A record's change events, oldest first"),
        params: RecordParams,
        querystring: HistoryQuery,
        response: { 200: ref('ChangeEventPage'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => {
      const { limit, after } = request.query
      const page = await recordHistory(auditor, recordTenant(request, request.params), request.params, {
        ...(limit === undefined ? {} : { limit }),
        ...(after === undefined ? {} : { after }),
      })
      return eventPage(page)
    },
  )

  app.get(
    '/api/v1/audit/state/:table/:id',
    {
      ...readers,
      schema: {
        ...op('getState', 'A record as it was at a point in time (an ISO date or an HLC)'),
        params: RecordParams,
        querystring: StateQuery,
        response: { 200: ref('RecordState'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => {
      const tenantId = recordTenant(request, request.params)
      const { table, id } = request.params
      const state = await auditor.events.stateAt(entityOf(table), id, request.query.at, { tenantId })
      // `null` means both "did not exist then" and "never existed here"; only the first
      // is an answer, the second is a 404 like any other unknown record (one event read).
      if (state === null) await recordHistory(auditor, tenantId, request.params, { limit: 1 })
      // The field names of the resource, not of the stored columns (as the event keeps them).
      return { state: state === null ? null : presentRecord(tableOf(table), state) }
    },
  )

  app.post(
    '/api/v1/audit/restore/:table/:id',
    {
      preValidation: allow('admin'),
      schema: {
        ...op(
          'restore',
          "Restore a record to its state after one of its events (through the resource's rules)",
        ),
        params: RecordParams,
        body: RestoreBody,
        response: { 200: ref('RestoredRecord'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request) => {
      const table = tableOf(request.params.table)
      assertRestorable(request, table)
      // The resource's domain operation: the same rules as its other writes (src/cms).
      const row = await restoreRecord(deps, callerOf(request), table, request.params.id, request.body)
      return presentRecord(table, row)
    },
  )

  app.get(
    '/api/v1/audit/export',
    {
      ...readers,
      schema: {
        ...op('exportEvents', "Stream the tenant's change events as NDJSON or CSV"),
        querystring: ExportQuery,
        response: {
          200: {
            description: 'One event per line (NDJSON) or a CSV table',
            content: {
              'application/x-ndjson': { schema: Type.String() },
              'text/csv': { schema: Type.String() },
            },
          },
          ...errors(...AUTHORIZED),
        },
      },
    },
    async (request, reply) => {
      const { format = 'ndjson', from, to } = request.query
      const query: ListEventsQuery = {
        tenantId: tenantOf(request),
        limit: EXPORT_PAGE,
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
      }
      // The first page is read before the response starts, so bad input is still a clean
      // 400 instead of a stream cut off after its headers were sent.
      const first = await auditor.events.list(query)
      return sendExport(reply, format, exportChunks(auditor, query, first, format))
    },
  )
}

/** The OpenAPI facts of an audit operation. */
const op = (operationId: string, summary: string) => ({ tags: ['audit'], operationId, summary })

/** The list envelope of event pages: `nextCursor` stays at the tail, to poll for newer events. */
function eventPage(page: EventPage) {
  return { items: page.events, nextCursor: page.nextCursor, hasMore: page.hasMore }
}

function tenantOf(request: FastifyRequest): string {
  return requirePrincipal(request).tenantId
}

/**
 * The timeline a record's events are in: the caller's tenant, except a `tenants` record
 * read by a platform admin, whose events are in that tenant's own timeline.
 */
function recordTenant(request: FastifyRequest, params: RecordParams): string {
  const p = requirePrincipal(request)
  return params.table === 'tenants' && p.platformAdmin ? params.id : p.tenantId
}

/** An audit route's `:table` as a CMS table; anything else is an unknown route target. */
function tableOf(table: string): RestorableTable {
  if (!Object.hasOwn(CMS_ENTITIES, table)) {
    throw new AuditedError('not_found', 'No such audited table.', { details: { table } })
  }
  return table as RestorableTable
}

/** The entity behind an audit route's `:table`. */
function entityOf(table: string): Entity<object> {
  return CMS_ENTITIES[tableOf(table)] as Entity<object>
}

/**
 * The tenant row itself carries platform-controlled facts (limits): restoring it is for
 * platform admins, not for the tenant's own admins.
 */
function assertRestorable(request: FastifyRequest, table: string): void {
  if (table === 'tenants' && !requirePrincipal(request).platformAdmin) {
    throw new AuditedError('forbidden', 'Only platform admins may restore a tenant.')
  }
}

/** One page of a record's events in this tenant, oldest first; a record without any
 * event is `not_found` (a page after a cursor may be empty: nothing newer yet). */
async function recordHistory(
  auditor: Auditor,
  tenantId: string,
  params: RecordParams,
  page: { limit?: number; after?: string },
): Promise<EventPage> {
  const found = await auditor.events.history(entityOf(params.table), params.id, { tenantId, ...page })
  if (found.events.length === 0 && page.after === undefined) {
    throw new AuditedError('not_found', 'No events for that record.', { details: { ...params } })
  }
  return found
}

/** The engine query for a validated query string, always scoped to the tenant. */
function listQuery(tenantId: string, q: ListQuery): ListEventsQuery {
  const optional = <K extends keyof ListQuery>(key: K) => (q[key] === undefined ? {} : { [key]: q[key] })
  return {
    tenantId,
    ...optional('table'),
    ...optional('recordId'),
    ...optional('actorId'),
    ...optional('action'),
    ...optional('from'),
    ...optional('to'),
    ...optional('after'),
    ...optional('limit'),
    ...optional('order'),
    ...(q.stored === 'true' ? { stored: true } : {}),
  }
}

const EXPORT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
}

function sendExport(reply: FastifyReply, format: ExportFormat, chunks: AsyncGenerator<string>): FastifyReply {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  return reply
    .header('content-type', EXPORT_TYPES[format])
    .header('content-disposition', `attachment; filename="audit-events-${stamp}.${format}"`)
    .header('cache-control', 'no-store')
    .send(Readable.from(chunks, { objectMode: false }))
}
