import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { AuditedDatabase, Auditor } from 'audited'
import { AuditedError, createIdFactory, isAuditedError } from 'audited'
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify'
import { WebhookRuntime } from '../webhooks/runtime.js'
import { STANDARD_SCHEDULE_MS } from '../webhooks/schedule.js'
import { parseAllowHosts } from '../webhooks/ssrf.js'
import type { App } from './app-type.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { HTTP_TIMEOUTS_DEFAULT, type HttpTimeouts, type TrustProxy } from './config.js'
import { DerivationGate } from './derivation-gate.js'
import {
  BODY_TOO_LARGE,
  classifyHttpError,
  clientErrorResponse,
  drainRequest,
  sendError,
} from './error-reply.js'
import { LoginLimiter } from './login-limiter.js'
import { ServerMetrics } from './metrics.js'
import { resolvePrincipal } from './principal.js'
import { queryIntegers } from './query-integers.js'
import { adminRoutes } from './routes/admin.js'
import { assetsRoutes } from './routes/assets.js'
import { auditRoutes } from './routes/audit.js'
import { auditProofRoutes } from './routes/audit-proofs.js'
import { auditStreamRoutes } from './routes/audit-stream.js'
import { authRoutes } from './routes/auth.js'
import { contentRoutes } from './routes/content.js'
import { explorerRoutes } from './routes/explorer.js'
import { operationsRoutes } from './routes/operations.js'
import { retentionRoutes } from './routes/retention.js'
import { subjectRoutes } from './routes/subjects.js'
import { webhookRoutes } from './routes/webhooks.js'
import { optionalBodies } from './schemas/envelope.js'
import { SHARED_SCHEMAS } from './schemas/records.js'
import { sharedSerializers } from './serializer-cache.js'
import { type LiveOptions, StreamHub } from './stream-hub.js'

export type { App } from './app-type.js'

export interface AppOptions {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
  readonly trustProxy?: TrustProxy
  readonly logger?: FastifyBaseLogger | boolean | { level: string; stream?: { write(line: string): void } }
  /** Session lifetime for `POST /auth/login` (ms, default 12 h). */
  readonly sessionTtlMs?: number
  /** Fails fast while the database is failing (default: 5 failures, 5 s cooldown). */
  readonly breaker?: CircuitBreaker
  /** Connection timeouts (default `HTTP_TIMEOUTS_DEFAULT`; the shutdown deadline is serve()'s). */
  readonly http?: Omit<HttpTimeouts, 'shutdownTimeoutMs'>
  /** Prometheus metrics; pass the same object's `recordEvents` as the auditor's `committed`
   * hook to count audited writes (serve() does). Default: a fresh registry. */
  readonly metrics?: ServerMetrics
  /** Login protection: failed-attempt limits (default: in memory, `LOGIN_LIMIT_DEFAULTS`)
   * and the bound on concurrent password derivations (default: 2 running, 32 queued). */
  readonly login?: { readonly limiter?: LoginLimiter; readonly gate?: DerivationGate }
  /** Webhook delivery (the routes' replay, ping and SSRF policy). Default: a runtime with
   * no allowed private hosts and the standard schedule, not started (serve() starts one). */
  readonly webhooks?: WebhookRuntime
  /** The live stream (`GET /audit/stream`): heartbeat, poll, buffer bound (default `LIVE_DEFAULTS`). */
  readonly live?: LiveOptions
  /** The verifier key (`<name>+<id>+<base64>`) of the checkpoint signing key, published by
   * `GET /audit/checkpoints/key` (absent: that route answers 404). serve() passes its own. */
  readonly checkpointKey?: string
}

const API_TAGS = [
  { name: 'operations', description: 'Health, readiness and metrics: no token needed' },
  { name: 'auth', description: 'Sessions and who is calling' },
  { name: 'tenants', description: 'Tenants (platform admins)' },
  { name: 'users', description: "A tenant's users" },
  { name: 'roles', description: 'The roles and what they allow' },
  { name: 'tokens', description: 'API tokens and sessions' },
  { name: 'content-types', description: 'Content types and their fields' },
  { name: 'entries', description: 'Entries of a content type' },
  { name: 'locales', description: 'Locales' },
  { name: 'media', description: 'Media metadata' },
  { name: 'webhooks', description: 'Webhooks' },
  { name: 'retention', description: 'Retention policy and legal holds' },
  { name: 'privacy', description: 'Data subjects: erasure and access requests (personal data)' },
  {
    name: 'audit',
    description:
      'The change-event trail: events, live stream, history, state, restore, export; signed checkpoints and proofs',
  },
]

/** Routes that never touch the database and so bypass the circuit breaker. */
const NO_DATABASE = new Set(['/health', '/metrics', '/openapi.json'])
/** Whether `info` lines are written (pino's check; Fastify's no-op logger has none). */
function logsInfo(log: FastifyBaseLogger): boolean {
  const check = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  return typeof check === 'function' && check.call(log, 'info')
}

/** Routes whose requests are not logged (health probes and metric scrapes). */
const QUIET_ROUTES = new Set(['/health', '/ready', '/metrics'])
/** Public routes: no token needed, and whatever `Authorization` a probe sends is not read. */
const NO_TOKEN = new Set([...NO_DATABASE, '/ready'])

/** The explorer's files (and `/`, which leads there) need neither a token nor the database. */
const isExplorerPath = (path: string) => path === '/' || path === '/admin' || path.startsWith('/admin/')

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The headless-CMS HTTP API. Every write goes through the auditor; every error is a
 * catalogue error rendered as `{ error: { code, message, details?, requestId } }`.
 *
 * @example
 * const app = buildApp({ db, auditor }); await app.listen({ port: 8080 })
 */
export function buildApp(options: AppOptions): App {
  const newRequestId = createIdFactory()
  const timeouts = options.http ?? HTTP_TIMEOUTS_DEFAULT
  const app = Fastify({
    logger: options.logger ?? false,
    // One line per request, written when it is answered (below), instead of two.
    logController: new LogController({ disableRequestLogging: true }),
    // Every phase of a connection is bounded: a client that trickles its headers or body,
    // or keeps an idle connection, cannot hold the server (nor its shutdown) open.
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    http: {
      headersTimeout: timeouts.headersTimeoutMs,
      // Node checks those timeouts this often (its default, 30 s, would let them overrun).
      connectionsCheckingInterval: Math.min(1000, timeouts.requestTimeoutMs),
    },
    trustProxy: trustProxySetting(options.trustProxy),
    bodyLimit: 1024 * 1024,
    // During shutdown new requests get our own 503 envelope (below), not Fastify's.
    return503OnClosing: false,
    // Router errors (a malformed %-escape, an over-long path parameter) get the catalogue
    // envelope too; the router answers them before any hook runs.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id)
      sendError(new AuditedError('validation', 'The URL is malformed.', { cause: error }), request, reply)
    },
    clientErrorHandler: (error, socket) => {
      if ((error as { code?: unknown }).code === 'ECONNRESET' || !socket.writable) return socket.destroy()
      socket.end(clientErrorResponse(error as { code?: unknown }, newRequestId()))
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId()
    },
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers() } },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // A DELETE or publish sent with `Content-Type: application/json` and no body has no
  // JSON to parse: its body is absent (routes that need one still say so), not a 400.
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined)
    json(request, body as string, done)
  })

  const breaker = options.breaker ?? new CircuitBreaker()
  // The breaker hears every database call's outcome, from the routes, the engine and
  // background work alike; a request's HTTP status says nothing about the database.
  const unsubscribe = options.db.health.subscribe(breaker.observe)
  app.addHook('onClose', async () => {
    unsubscribe()
  })
  const metrics = options.metrics ?? ServerMetrics.of(options.db.capabilities)
  metrics.watchClock(options.auditor.clock)
  metrics.watchFeed(options.auditor.feed)
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'audited headless CMS', version: '0.1.0', description: 'Every write audited.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: API_TAGS,
    },
    // Shared schemas keep their `$id` as their name under `components.schemas`.
    transformObject: (document) => optionalBodies('openapiObject' in document ? document.openapiObject : {}),
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  })
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  app.register(swaggerUi, { routePrefix: '/docs' })
  app.decorateRequest('principal', null)
  app.decorateRequest('breakerProbe', null)
  let closing = false
  const hub = new StreamHub(options.auditor.feed, app.log, options.live)
  metrics.watchStreams(() => hub.stats())
  app.addHook('preClose', async () => {
    closing = true
    // Open event streams would hold the server's close open for good: they end first.
    await hub.close()
  })
  // Once shutdown begins, every response — in-flight ones included — ends its connection,
  // so no keep-alive connection outlives its last request.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
  app.addHook('onResponse', async (request, reply) => {
    // Probes ask every few seconds: logging each would drown the log.
    if (!logsInfo(request.log) || QUIET_ROUTES.has(request.routeOptions.url ?? '')) return
    const ms = reply.elapsedTime
    request.log.info(
      {
        req: { method: request.method, url: request.url },
        res: { statusCode: reply.statusCode },
        responseTime: ms,
      },
      `${request.method} ${request.url} ${reply.statusCode} ${ms.toFixed(1)} ms`,
    )
  })
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    if (closing) {
      reply.header('connection', 'close')
      throw new AuditedError('unavailable', 'The server is shutting down.', {
        details: { reason: 'shutting_down' },
        retryAfterSeconds: 1,
      })
    }
    const path = request.url.split('?', 1)[0] ?? ''
    if (NO_DATABASE.has(path) || path.startsWith('/docs') || isExplorerPath(path)) return
    const { probe } = breaker.admit()
    request.breakerProbe = probe
    // 'close' fires however the exchange ends, aborted by the client included (Fastify's
    // onResponse does not run then): the probe slot can never stay taken.
    if (probe) reply.raw.once('close', () => breaker.release(true))
    if (NO_TOKEN.has(path)) return
    request.principal = await resolvePrincipal(options.db, request.headers.authorization)
  })
  app.addHook('preValidation', queryIntegers)
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    metrics.latency.observe({ method: request.method, route }, reply.elapsedTime / 1000)
    if (reply.statusCode === 429) metrics.rateLimited.inc()
  })
  app.setErrorHandler(async (error, request, reply) => {
    // Driver errors from plain reads (Kysely) are classified like the engine's.
    const classified = isAuditedError(error) ? error : (options.db.capabilities.classify(error) ?? error)
    const e = classifyHttpError(classified)
    if (e.details?.reason === BODY_TOO_LARGE) await drainRequest(request.raw)
    return sendError(e, request, reply)
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(new AuditedError('not_found', 'No such route.'), request, reply),
  )

  const deps = { db: options.db, auditor: options.auditor }
  // Routes are declared inside a plugin registered after @fastify/swagger, so that its
  // onRoute hook sees every one of them for /openapi.json.
  app.register(async (scoped) => {
    const root = scoped as App
    operationsRoutes(root, { db: options.db, metrics })
    await authRoutes(scoped as App, {
      ...deps,
      sessionTtlMs: options.sessionTtlMs ?? 12 * 3600_000,
      newId: newRequestId,
      limiter: options.login?.limiter ?? LoginLimiter.memory(),
      gate: options.login?.gate ?? new DerivationGate(),
    })
    await contentRoutes(scoped as App, deps)
    await adminRoutes(scoped as App, deps)
    await auditRoutes(scoped as App, deps)
    await auditProofRoutes(scoped as App, { ...deps, checkpointKey: options.checkpointKey })
    await auditStreamRoutes(scoped as App, { auditor: options.auditor, hub })
    await assetsRoutes(scoped as App, deps)
    await retentionRoutes(scoped as App, deps)
    await explorerRoutes(scoped as App)
    await subjectRoutes(scoped as App, deps)
    await webhookRoutes(scoped as App, {
      ...deps,
      webhooks:
        options.webhooks ??
        new WebhookRuntime(options.db, options.auditor, {
          policy: parseAllowHosts(undefined),
          schedule: STANDARD_SCHEDULE_MS,
        }),
    })
  })
  return app
}

/** As Fastify takes it: a hop count trusts the nearest `n` proxies (as Fastify's own
 * number form, which its types leave out). */
function trustProxySetting(
  value: TrustProxy | undefined,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (value === undefined) return false
  if (typeof value === 'number') return (_address, hop) => hop < value
  return typeof value === 'boolean' ? value : [...value]
}
