import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import { CompiledQuery } from 'kysely'
import { Type } from 'typebox'
import type { Auditor } from '../audit/auditor.js'
import { type Role, tokens } from '../cms/entities.js'
import { hashToken, newToken, verifyPassword } from '../cms/secrets.js'
import type { AuditContext } from '../core/audit-context.js'
import { AuditedError, isAuditedError } from '../core/errors.js'
import { createIdFactory } from '../core/ids.js'
import type { AuditedDatabase } from '../db/open-database.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { classifyHttpError, sendError } from './error-reply.js'
import { ServerMetrics } from './metrics.js'
import { adminRoutes } from './routes/admin.js'
import { assetsRoutes } from './routes/assets.js'
import { auditRoutes } from './routes/audit.js'
import { contentRoutes } from './routes/content.js'

/** Who is calling, resolved from the bearer token. */
export interface Principal {
  readonly tenantId: string
  /** The user, or the API token itself for `api_token` principals. */
  readonly actorId: string
  readonly actorType: 'user' | 'api_token'
  readonly role: Role
  readonly platformAdmin: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
    /** Admitted by the circuit breaker (true when as its probe); null when not admitted. */
    breakerProbe: boolean | null
    /** The request failed because the database did (see `isDatabaseFailure`). */
    databaseFailed: boolean
  }
}

export interface AppOptions {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
  readonly trustProxy?: boolean | string
  readonly logger?: FastifyBaseLogger | boolean | { level: string }
  /** Session lifetime for `POST /auth/login` (ms, default 12 h). */
  readonly sessionTtlMs?: number
  /** Fails fast while the database is failing (default: 5 failures, 5 s cooldown). */
  readonly breaker?: CircuitBreaker
  /** Prometheus metrics; pass the same object's `recordEvent` as the auditor's `after`
   * hook to count audited writes (serve() does). Default: a fresh registry. */
  readonly metrics?: ServerMetrics
}

/** Routes that never touch the database and so bypass the circuit breaker. */
const NO_DATABASE = new Set(['/health', '/metrics', '/openapi.json'])

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The audit context of an authenticated request: actor, tenant, request id, IP, agent. */
export function auditContext(request: FastifyRequest): AuditContext {
  const p = requirePrincipal(request)
  const agent = request.headers['user-agent']
  return {
    tenantId: p.tenantId,
    actorId: p.actorId,
    actorType: p.actorType,
    requestId: request.id,
    ip: request.ip,
    ...(typeof agent === 'string' && agent.length > 0 ? { userAgent: agent.slice(0, 1000) } : {}),
  }
}

export function requirePrincipal(request: FastifyRequest): Principal {
  if (request.principal === null) throw new AuditedError('unauthorized', 'A valid bearer token is required.')
  return request.principal
}

/** A preHandler allowing only these roles (platform admins always pass). */
export function allow(...roles: Role[]) {
  return async (request: FastifyRequest) => {
    const p = requirePrincipal(request)
    if (!p.platformAdmin && !roles.includes(p.role)) {
      throw new AuditedError('forbidden', 'Your role does not allow this action.')
    }
  }
}

/**
 * The headless-CMS HTTP API. Every write goes through the auditor; every error is a
 * catalogue error rendered as `{ error: { code, message, details?, requestId } }`.
 *
 * @example
 * const app = buildApp({ db, auditor }); await app.listen({ port: 8080 })
 */
export function buildApp(options: AppOptions): App {
  const newRequestId = createIdFactory()
  const app = Fastify({
    logger: options.logger ?? false,
    trustProxy: options.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    // During shutdown new requests get our own 503 envelope (below), not Fastify's.
    return503OnClosing: false,
    // Router errors (a malformed %-escape, an over-long path parameter) get the catalogue
    // envelope too; the router answers them before any hook runs.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id)
      sendError(new AuditedError('validation', 'The URL is malformed.', { cause: error }), request, reply)
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId()
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  const breaker = options.breaker ?? new CircuitBreaker()
  const metrics = options.metrics ?? ServerMetrics.of(options.db.capabilities)
  app.register(swagger, {
    openapi: {
      info: { title: 'audited headless CMS', version: '0.1.0', description: 'Every write audited.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  })
  app.register(swaggerUi, { routePrefix: '/docs' })
  app.decorateRequest('principal', null)
  app.decorateRequest('breakerProbe', null)
  app.decorateRequest('databaseFailed', false)
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
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
    if (NO_DATABASE.has(path) || path.startsWith('/docs')) return
    request.breakerProbe = breaker.admit().probe
    request.principal = await resolvePrincipal(options.db, request.headers.authorization)
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    metrics.latency.observe({ method: request.method, route }, reply.elapsedTime / 1000)
    if (reply.statusCode === 429) metrics.rateLimited.inc()
    const probe = request.breakerProbe
    if (probe === null) return
    if (request.databaseFailed) breaker.failure(probe)
    else if (reply.statusCode < 500) breaker.success(probe)
    else breaker.release(probe)
  })
  app.setErrorHandler((error, request, reply) => {
    // Driver errors from plain reads (Kysely) are classified like the engine's.
    const classified = isAuditedError(error) ? error : (options.db.capabilities.classify(error) ?? error)
    if (isDatabaseFailure(classified)) request.databaseFailed = true
    return sendError(classified, request, reply)
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(new AuditedError('not_found', 'No such route.'), request, reply),
  )

  const deps = { db: options.db, auditor: options.auditor }
  // Routes are declared inside a plugin registered after @fastify/swagger, so that its
  // onRoute hook sees every one of them for /openapi.json.
  app.register(async (scoped) => {
    const root = scoped as App
    root.get('/health', async () => ({ status: 'ok' }))
    root.get('/metrics', async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType)
      return metrics.registry.metrics()
    })
    root.get('/openapi.json', { schema: { hide: true } }, async () => root.swagger())
    root.get('/ready', async () => {
      try {
        await options.db.readKysely.selectNoFrom((eb) => eb.lit(1).as('one')).execute()
      } catch (cause) {
        throw new AuditedError('unavailable', 'The database is not reachable.', {
          cause,
          retryAfterSeconds: 5,
        })
      }
      return { status: 'ready' }
    })

    const sessionTtlMs = options.sessionTtlMs ?? 12 * 3600_000
    root.post(
      '/api/v1/auth/login',
      {
        schema: {
          body: Type.Object(
            {
              email: Type.String({ minLength: 3, maxLength: 254 }),
              password: Type.String({ minLength: 1, maxLength: 200 }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { email, password } = request.body
        const user = await options.db.readKysely
          .selectFrom('users')
          .select(['id', 'tenant_id', 'password_hash', 'role', 'platform_admin'])
          .where('email', '=', email.toLowerCase())
          .executeTakeFirst()
        if (user === undefined || !(await verifyPassword(password, String(user.password_hash)))) {
          throw new AuditedError('unauthorized', 'Wrong email or password.')
        }
        const { token, hash } = newToken()
        const expiresAt = new Date(Date.now() + sessionTtlMs)
        const now = new Date()
        await options.auditor.create(
          tokens,
          {
            id: newRequestId(),
            user_id: String(user.id),
            name: 'session',
            role: user.role as Role,
            kind: 'session',
            platform_admin:
              user.platform_admin === true || user.platform_admin === 1 || user.platform_admin === '1',
            token_hash: hash,
            expires_at: expiresAt,
            created_at: now,
            updated_at: now,
          },
          {
            tenantId: String(user.tenant_id),
            actorId: String(user.id),
            actorType: 'user',
            requestId: request.id,
            ip: request.ip,
            reason: 'login',
          },
        )
        return { token, expiresAt: expiresAt.toISOString() }
      },
    )
    await contentRoutes(scoped as App, deps)
    await adminRoutes(scoped as App, deps)
    await auditRoutes(scoped as App, deps)
    await assetsRoutes(scoped as App, deps)
  })
  return app
}

const NOT_DATABASE_FAILURES = new Set(['pool_exhausted', 'circuit_open', 'aborted', 'shutting_down'])

/** An error that means the database itself failed (unreachable, timing out) — not load
 * (pool exhausted), not the caller (aborted), not an open circuit. */
function isDatabaseFailure(error: unknown): boolean {
  const e = classifyHttpError(error)
  const reason = e.details?.reason
  return e.code === 'unavailable' && !NOT_DATABASE_FAILURES.has(String(reason))
}

interface TokenRow {
  id: unknown
  tenant_id: unknown
  user_id: unknown
  role: unknown
  kind: unknown
  platform_admin: unknown
  expires_at: unknown
}

/** The token look-up runs on every request: compiled once per database, then only bound. */
const tokenLookups = new WeakMap<AuditedDatabase, string>()
function tokenLookupSql(db: AuditedDatabase): string {
  let text = tokenLookups.get(db)
  if (text === undefined) {
    text = db.readKysely
      .selectFrom('tokens')
      .select(['id', 'tenant_id', 'user_id', 'role', 'kind', 'platform_admin', 'expires_at'])
      .where('token_hash', '=', '')
      .compile().sql
    tokenLookups.set(db, text)
  }
  return text
}

/** Looks a bearer token up by its hash; no or unknown token → anonymous (routes decide). */
async function resolvePrincipal(db: AuditedDatabase, header: string | undefined): Promise<Principal | null> {
  if (header === undefined) return null
  const m = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(header)
  if (m === null) throw new AuditedError('unauthorized', 'The Authorization header must be "Bearer <token>".')
  const { rows } = await db.readKysely.executeQuery<TokenRow>(
    CompiledQuery.raw(tokenLookupSql(db), [hashToken(m[1]!)]),
  )
  const row = rows[0]
  if (row === undefined) throw new AuditedError('unauthorized', 'The token is not valid.')
  const expires =
    row.expires_at instanceof Date
      ? row.expires_at
      : row.expires_at === null
        ? null
        : new Date(String(row.expires_at))
  if (expires !== null && expires.getTime() < Date.now()) {
    throw new AuditedError('unauthorized', 'The token has expired.')
  }
  const session = row.kind === 'session'
  return {
    tenantId: String(row.tenant_id),
    actorId: String(session ? row.user_id : row.id),
    actorType: session ? 'user' : 'api_token',
    role: row.role as Role,
    platformAdmin: row.platform_admin === true || row.platform_admin === 1 || row.platform_admin === '1',
  }
}
