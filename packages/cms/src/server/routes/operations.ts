import type { AuditedDatabase } from 'audited'
import { AuditedError, isAuditedError } from 'audited'
import { Type } from 'typebox'
import type { App } from '../app-type.js'
import type { ServerMetrics } from '../metrics.js'
import { errors, ref } from '../schemas/envelope.js'

/** No bearer token: probes and scrapers call these without credentials. */
const PUBLIC = { tags: ['operations'], security: [] }

/** `/health`, `/ready`, `/metrics` (public, outside the circuit breaker but for `/ready`) and `/openapi.json`. */
export function operationsRoutes(app: App, deps: { db: AuditedDatabase; metrics: ServerMetrics }): void {
  app.get(
    '/health',
    {
      schema: {
        ...PUBLIC,
        operationId: 'health',
        summary: 'Liveness: the process answers (the database is not asked)',
        response: { 200: ref('Health'), ...errors() },
      },
    },
    async () => ({ status: 'ok' }),
  )
  app.get(
    '/metrics',
    {
      schema: {
        ...PUBLIC,
        operationId: 'metrics',
        summary: 'Prometheus metrics (text exposition format)',
        response: {
          200: {
            description: 'Prometheus text format',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errors(),
        },
      },
    },
    async (_request, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType)
      return deps.metrics.registry.metrics()
    },
  )
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  app.get(
    '/ready',
    {
      schema: {
        ...PUBLIC,
        operationId: 'ready',
        summary: 'Readiness: the database answers a query',
        response: { 200: ref('Readiness'), ...errors() },
      },
    },
    async () => {
      try {
        await deps.db.readKysely.selectNoFrom((eb) => eb.lit(1).as('one')).execute()
      } catch (cause) {
        // A full pool (or an abort) says so; anything else means the database is not there.
        if (isAuditedError(cause)) throw cause
        throw new AuditedError('unavailable', 'The database is not reachable.', {
          details: { reason: 'unreachable' },
          cause,
          retryAfterSeconds: 5,
        })
      }
      return { status: 'ready' }
    },
  )
}
