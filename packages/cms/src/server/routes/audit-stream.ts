import type { Auditor } from 'audited'
import { ACTIONS, AuditedError } from 'audited'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { AUTHORIZED, errors } from '../schemas/envelope.js'
import type { StreamHub } from '../stream-hub.js'

const StreamQuery = Type.Object(
  {
    table: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    recordId: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Needs table' })),
    action: Type.Optional(Type.Union(ACTIONS.map((a) => Type.Literal(a)))),
    after: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Resume after this event id (a Last-Event-ID header wins over it)',
      }),
    ),
  },
  { additionalProperties: false },
)

const StreamHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({ description: 'The id of the last event received: resume right after it' }),
  ),
})

const DESCRIPTION = [
  "The tenant's change events as they commit, as Server-Sent Events: each change is a message",
  'with `id: <cursor>`, `event: change` and `data: <the event as GET /audit/events/{eventId} answers it>`.',
  'The first message, `event: ready` with `data: {}`, carries the id of the place the stream starts at',
  '(so a reconnect before any change resumes there). Without `Last-Event-ID` or `after` it starts after',
  'every event committed before the request: only later events are sent. With one it resumes exactly after that event.',
  'A `: heartbeat` comment comes every 15 s (SSE_HEARTBEAT_MS). A client that does not keep up',
  '(more than 1 MiB unsent) is disconnected and resumes from its last id; on shutdown every stream ends.',
].join(' ')

/**
 * Route: `GET /api/v1/audit/stream`, the live change feed of the caller's tenant (readable
 * by `admin` and `auditor`, like the other audit routes). The streams are the hub's
 * (src/server/stream-hub.ts); this route checks the request and picks the start.
 */
export async function auditStreamRoutes(app: App, deps: { auditor: Auditor; hub: StreamHub }): Promise<void> {
  const { auditor, hub } = deps
  app.get(
    '/api/v1/audit/stream',
    {
      preValidation: allow('admin', 'auditor'),
      schema: {
        tags: ['audit'],
        operationId: 'streamEvents',
        summary: "Follow the tenant's change events live (Server-Sent Events; resume with Last-Event-ID)",
        description: DESCRIPTION,
        querystring: StreamQuery,
        headers: StreamHeaders,
        response: {
          200: {
            description: 'An endless text/event-stream of `change` messages and heartbeat comments',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...errors(...AUTHORIZED),
        },
      },
    },
    async (request, reply) => {
      const { tenantId } = requirePrincipal(request)
      const { table, action, recordId, after } = request.query
      if (recordId !== undefined && table === undefined) {
        throw new AuditedError('validation', 'recordId needs table.', { details: { field: 'table' } })
      }
      const header = request.headers['last-event-id']
      const given =
        typeof header === 'string' && header !== ''
          ? { cursor: header, field: 'Last-Event-ID' }
          : after === undefined
            ? undefined
            : { cursor: after, field: 'after' }
      // Without a cursor: after every event committed before this request (feed.now waits
      // for those an open transaction holds back). A cursor past the newest event names no
      // event of this feed: it starts at the newest.
      let start: string
      if (given === undefined) start = await auditor.feed.now()
      else {
        const head = await auditor.feed.head()
        start = auditor.feed.compare(given.cursor, head, given.field) > 0 ? head : given.cursor
      }
      await hub.open(tenantId, { table, action, recordId }, start, reply.raw, () => begin(reply))
    },
  )
}

/** Takes the response over from Fastify and sends the stream's headers. */
function begin(reply: FastifyReply): void {
  reply.hijack()
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) reply.raw.setHeader(name, value)
  }
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // The connection serves this stream only: it closes when the stream ends.
    connection: 'close',
    // Proxies that buffer responses (nginx) pass this one through as it comes.
    'x-accel-buffering': 'no',
  })
}
