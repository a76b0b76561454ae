import { isIP } from 'node:net'
import type { FastifyRequest } from 'fastify'
import { CompiledQuery } from 'kysely'
import type { Role } from '../cms/entities.js'
import { hashToken } from '../cms/secrets.js'
import type { AuditContext } from '../core/audit-context.js'
import { AuditedError } from '../core/errors.js'
import type { AuditedDatabase } from '../db/open-database.js'

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

/** The audit context of an authenticated request: actor, tenant, request id, IP, agent. */
export function auditContext(request: FastifyRequest): AuditContext {
  const p = requirePrincipal(request)
  const agent = request.headers['user-agent']
  return {
    tenantId: p.tenantId,
    actorId: p.actorId,
    actorType: p.actorType,
    requestId: request.id,
    ...clientIp(request),
    ...(typeof agent === 'string' && agent.length > 0 ? { userAgent: agent.slice(0, 1000) } : {}),
  }
}

/** Only a valid address is recorded: with a trusted proxy `request.ip` comes from
 * `X-Forwarded-For`, which may be anything; then the socket's own address is used. */
function clientIp(request: FastifyRequest): { ip?: string } {
  if (isIP(request.ip) !== 0) return { ip: request.ip }
  const own = request.socket?.remoteAddress
  return own !== undefined && isIP(own) !== 0 ? { ip: own } : {}
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
export async function resolvePrincipal(
  db: AuditedDatabase,
  header: string | undefined,
): Promise<Principal | null> {
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
