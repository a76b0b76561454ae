import { isIP } from 'node:net'
import type { AuditContext, AuditedDatabase } from 'audited'
import { AuditedError, decodeRow } from 'audited'
import type { FastifyRequest } from 'fastify'
import { CompiledQuery } from 'kysely'
import { type Role, type TokenRow, tokens, type UserRow, users } from '../cms/entities.js'
import { credentialsFingerprint, hashToken } from '../cms/secrets.js'

/** Who is calling, resolved from the bearer token. */
export interface Principal {
  readonly tenantId: string
  /** The user, or the API token itself for `api_token` principals. */
  readonly actorId: string
  readonly actorType: 'user' | 'api_token'
  readonly role: Role
  readonly platformAdmin: boolean
  /** The session or API token the request carried. */
  readonly tokenId: string
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
    /** Admitted by the circuit breaker (true when as its probe); null when not admitted. */
    breakerProbe: boolean | null
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
export function clientIp(request: FastifyRequest): { ip?: string } {
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

/**
 * The token and, for a session, its user as they are now: one query, one snapshot, so a
 * session can never outlive its user's delete, role change or password change.
 */
const TOKEN_COLUMNS = ['id', 'tenant_id', 'user_id', 'role', 'kind', 'platform_admin', 'expires_at'] as const
const USER_COLUMNS = ['id', 'role', 'platform_admin', 'password_hash'] as const

/** The token look-up runs on every request: compiled once per database, then only bound. */
const tokenLookups = new WeakMap<AuditedDatabase, string>()
function tokenLookupSql(db: AuditedDatabase): string {
  let text = tokenLookups.get(db)
  if (text === undefined) {
    text = db.readKysely
      .selectFrom('tokens')
      .leftJoin('users', (join) =>
        join.onRef('users.id', '=', 'tokens.user_id').onRef('users.tenant_id', '=', 'tokens.tenant_id'),
      )
      .select([
        ...TOKEN_COLUMNS.map((c) => `tokens.${c}` as const),
        'tokens.credentials_fingerprint',
        ...USER_COLUMNS.map((c) => `users.${c} as u_${c}` as const),
      ])
      .where('tokens.token_hash', '=', '')
      .compile().sql
    tokenLookups.set(db, text)
  }
  return text
}

/** The joined row split into the token and its user, each decoded by its entity's codec. */
function decodeLookup(raw: Record<string, unknown>): { token: TokenRow; user: UserRow | null } {
  const token: Record<string, unknown> = {}
  for (const c of TOKEN_COLUMNS) token[c] = raw[c]
  token.credentials_fingerprint = raw.credentials_fingerprint
  const user: Record<string, unknown> = {}
  for (const c of USER_COLUMNS) user[c] = raw[`u_${c}`]
  return {
    token: decodeRow(tokens, token) as unknown as TokenRow,
    user: user.id === null || user.id === undefined ? null : (decodeRow(users, user) as unknown as UserRow),
  }
}

/** A session is good while its user exists with the role, rights and password it was issued for. */
function sessionIsCurrent(token: TokenRow, user: UserRow | null): boolean {
  return (
    user !== null &&
    user.role === token.role &&
    user.platform_admin === token.platform_admin &&
    typeof token.credentials_fingerprint === 'string' &&
    token.credentials_fingerprint === credentialsFingerprint(user.password_hash)
  )
}

/** Looks a bearer token up by its hash; no or unknown token → anonymous (routes decide). */
export async function resolvePrincipal(
  db: AuditedDatabase,
  header: string | undefined,
): Promise<Principal | null> {
  if (header === undefined) return null
  const m = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(header)
  if (m === null) throw new AuditedError('unauthorized', 'The Authorization header must be "Bearer <token>".')
  const { rows } = await db.readKysely.executeQuery<Record<string, unknown>>(
    CompiledQuery.raw(tokenLookupSql(db), [hashToken(m[1]!)]),
  )
  if (rows[0] === undefined) throw new AuditedError('unauthorized', 'The token is not valid.')
  const { token, user } = decodeLookup(rows[0])
  if (token.expires_at !== null && token.expires_at.getTime() < Date.now()) {
    throw new AuditedError('unauthorized', 'The token has expired.')
  }
  const session = token.kind === 'session'
  if (session && !sessionIsCurrent(token, user)) {
    throw new AuditedError('unauthorized', 'The session ended: the account changed. Sign in again.')
  }
  return {
    tenantId: token.tenant_id,
    actorId: session ? String(token.user_id) : token.id,
    actorType: session ? 'user' : 'api_token',
    role: token.role,
    platformAdmin: token.platform_admin,
    tokenId: token.id,
  }
}
