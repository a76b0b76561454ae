import { AuditedError, decodeRow } from 'audited'
import { Type } from 'typebox'
import { tokens, type UserRow, users } from '../../cms/entities.js'
import { credentialsFingerprint, dummyPasswordHash, newToken, verifyPassword } from '../../cms/secrets.js'
import { endSession } from '../../cms/token-operations.js'
import type { App } from '../app-type.js'
import type { DerivationGate } from '../derivation-gate.js'
import type { LoginLimiter } from '../login-limiter.js'
import { clientIp, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { AUTHENTICATED, errors, NoContent, ref } from '../schemas/envelope.js'
import type { RouteDeps } from './deps.js'

export interface AuthRouteDeps extends RouteDeps {
  /** Session lifetime (ms). */
  readonly sessionTtlMs: number
  /** Id factory for session tokens. */
  readonly newId: () => string
  /** Failed-attempt limits per IP and account. */
  readonly limiter: LoginLimiter
  /** Bounds concurrent password derivations. */
  readonly gate: DerivationGate
}

const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
)

/** `POST /api/v1/auth/login`: a 12 h session token for an e-mail and password;
 * `POST /api/v1/auth/logout`: that session ends; `GET /api/v1/me`: who is calling. */
export async function authRoutes(app: App, deps: AuthRouteDeps): Promise<void> {
  const { db, auditor, sessionTtlMs, newId, limiter, gate } = deps
  // Made once, before the first login, so that login costs one derivation like all others.
  await dummyPasswordHash()
  app.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        operationId: 'login',
        summary: 'Sign in with e-mail and password: a session token (no token needed)',
        security: [],
        body: LoginBody,
        response: { 200: ref('Session'), ...errors(401, 413, 429) },
      },
    },
    async (request) => {
      const { password } = request.body
      const email = request.body.email.toLowerCase()
      await limiter.admit(request.ip, email)
      const raw = await db.readKysely
        .selectFrom('users')
        .select(['id', 'tenant_id', 'email', 'password_hash', 'role', 'platform_admin'])
        .where('email', '=', email)
        .executeTakeFirst()
      const found = raw === undefined ? undefined : (decodeRow(users, raw) as unknown as UserRow)
      // Only the exact (stored, lower-cased) address: a collation that pads or folds (MariaDB's
      // utf8mb4_general_ci matches 'a@x.test ' to 'a@x.test') must not give one account many
      // limiter keys.
      const user = found?.email === email ? found : undefined
      // The same derivation whether or not the account exists: the answer's timing tells nothing.
      const stored = user?.password_hash ?? (await dummyPasswordHash())
      const matches = await gate.run(() => verifyPassword(password, stored))
      if (user === undefined || !matches) {
        await limiter.failed(request.ip, email)
        throw new AuditedError('unauthorized', 'Wrong email or password.')
      }
      await limiter.succeeded(email)
      const { token, hash } = newToken()
      const expiresAt = new Date(Date.now() + sessionTtlMs)
      const now = new Date()
      await auditor.create(
        tokens,
        {
          id: newId(),
          user_id: user.id,
          name: 'session',
          // What the password was checked against: a change committed meanwhile ends the
          // session at its first request (src/server/principal.ts).
          role: user.role,
          kind: 'session',
          platform_admin: user.platform_admin,
          credentials_fingerprint: credentialsFingerprint(user.password_hash),
          token_hash: hash,
          expires_at: expiresAt,
          created_at: now,
          updated_at: now,
        },
        {
          tenantId: user.tenant_id,
          actorId: user.id,
          actorType: 'user',
          requestId: request.id,
          // A valid address only (S6): with TRUST_PROXY, X-Forwarded-For may hold anything.
          ...clientIp(request),
          reason: 'login',
        },
      )
      return { token, expiresAt: expiresAt.toISOString() }
    },
  )

  app.post(
    '/api/v1/auth/logout',
    {
      schema: {
        tags: ['auth'],
        operationId: 'logout',
        summary: 'Sign out: the session this request carries ends; its token is refused from now on',
        response: { 204: NoContent, ...errors(...AUTHENTICATED, 409, 413, 429) },
      },
    },
    async (request, reply) => {
      const p = requirePrincipal(request)
      if (p.actorType !== 'user') {
        throw new AuditedError(
          'validation',
          `Sign-out ends a login session; an API token is revoked with DELETE /api/v1/tokens/${p.tokenId}.`,
        )
      }
      await endSession(deps, callerOf(request), p.tokenId)
      return reply.code(204).send()
    },
  )

  app.get(
    '/api/v1/me',
    {
      schema: {
        tags: ['auth'],
        operationId: 'me',
        summary: 'Who is calling: user, role, tenant and the kind of credential',
        response: { 200: ref('Me'), ...errors(...AUTHENTICATED) },
      },
    },
    async (request) => {
      const p = requirePrincipal(request)
      const user =
        p.actorType === 'user'
          ? await db.readKysely
              .selectFrom('users')
              .select(['email', 'name'])
              .where('id', '=', p.actorId)
              .where('tenant_id', '=', p.tenantId)
              .executeTakeFirst()
          : undefined
      return {
        userId: p.actorType === 'user' ? p.actorId : null,
        email: (user?.email as string | undefined) ?? null,
        name: (user?.name as string | null | undefined) ?? null,
        role: p.role,
        platformAdmin: p.platformAdmin,
        tenantId: p.tenantId,
        auth: p.actorType === 'user' ? 'session' : 'token',
        tokenId: p.tokenId,
      }
    },
  )
}
