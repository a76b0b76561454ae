/**
 * Administration: tenants (platform admins), users, roles and API tokens (a tenant's
 * admins). Every write goes through the auditor with the caller's audit context, so each
 * change has its event; secrets (password and token hashes) are never returned and are
 * redacted in events by the entity definitions.
 *
 * Choices a client can observe:
 * - Lists answer `{ items, nextCursor }`; single records are returned as-is (camelCase).
 * - A user may not change their own role nor delete themselves: 409 `conflict` (the request
 *   is well-formed but conflicts with who is calling; it keeps a tenant from losing its
 *   last admin by accident).
 * - Users and tokens flagged `platform_admin` can only be changed or deleted by a platform
 *   admin (403 otherwise): a tenant admin must not be able to take over a platform account.
 * - Changing a user's role or password revokes that user's session tokens (also the
 *   caller's own when they change their own password): a session carries the role it was
 *   issued with and must not outlive the credentials that produced it.
 * - Deleting a user deletes their sessions in the same transaction. API tokens belong to
 *   the tenant (`userId: null`), not to the user who made them; who made one is in its event.
 * - `GET /tokens` lists API tokens and login sessions alike, each with its `kind`;
 *   `?kind=api` or `?kind=session` filters.
 * - Tokens made here are never platform-admin tokens, whoever creates them.
 * - Emails are unique across all tenants (login is by email alone), so a duplicate is 409
 *   even when the other user belongs to another tenant.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type Static, Type } from 'typebox'
import type { Entity } from '../../audit/entity.js'
import { decodeRow } from '../../audit/row-codec.js'
import type { AuditedWriter } from '../../audit/write-scope.js'
import {
  ROLES,
  type Role,
  type TenantRow,
  type TokenRow,
  tenants,
  tokens,
  type UserRow,
  users,
} from '../../cms/entities.js'
import { hashPassword, newApiToken } from '../../cms/secrets.js'
import type { AuditContext } from '../../core/audit-context.js'
import { AuditedError } from '../../core/errors.js'
import type { App } from '../app-type.js'
import { allow, auditContext, type Principal, requirePrincipal } from '../principal.js'
import { created, getOne, IdParams, listPage, newRecordId, PageQuery, present, touched } from '../resource.js'
import type { RouteDeps } from './deps.js'

/** Columns that never leave the server. */
const SECRETS = ['password_hash', 'token_hash', 'credentials_fingerprint'] as const

const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  admin: "Manages the tenant's users, roles and API tokens, and everything editors can do.",
  editor: 'Creates, edits and publishes content and media.',
  viewer: 'Reads content and media; changes nothing.',
  auditor: "Reads the tenant's audit trail; changes nothing.",
}

// ---------------------------------------------------------------------------- schemas

const RoleSchema = Type.Enum(['admin', 'editor', 'viewer', 'auditor'])
// A pragmatic shape check (one @, a dot in the domain, no spaces); deliverability is not ours to judge.
const EmailSchema = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' })
const PasswordSchema = Type.String({ minLength: 8, maxLength: 200 })
// At least one non-space character, so a name is never blank.
const NameSchema = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })

const TenantCreateBody = Type.Object({ name: NameSchema }, { additionalProperties: false })

// Maxima are sanity bounds against typos (a misplaced zero), not capacity promises.
const LimitsSchema = Type.Object(
  {
    writesPerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    maxEntries: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
  },
  { additionalProperties: false, minProperties: 1 },
)
const TenantPatchBody = Type.Object({ limits: LimitsSchema }, { additionalProperties: false })

const UserCreateBody = Type.Object(
  {
    email: EmailSchema,
    password: PasswordSchema,
    role: RoleSchema,
    name: Type.Optional(Type.Union([NameSchema, Type.Null()])),
  },
  { additionalProperties: false },
)
const UserPatchBody = Type.Object(
  {
    name: Type.Optional(Type.Union([NameSchema, Type.Null()])),
    role: Type.Optional(RoleSchema),
    password: Type.Optional(PasswordSchema),
  },
  { additionalProperties: false, minProperties: 1 },
)
/**
 * `PageQuery.limit` is an integer schema, but query strings arrive as text and the app's Ajv
 * does not coerce, so `?limit=5` would always be a 400. Until resource.ts accepts it, these
 * routes take the limit as a decimal string (1–200) and convert it.
 */
const AdminPageQuery = {
  after: PageQuery.after,
  limit: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]?|1[0-9]{2}|200)$' })),
}

/** The page for `listPage`, with the textual limit converted. */
function page(query: { after?: string | undefined; limit?: string | undefined }) {
  return { after: query.after, limit: query.limit === undefined ? undefined : Number(query.limit) }
}

const UserListQuery = Type.Object(
  { ...AdminPageQuery, role: Type.Optional(RoleSchema) },
  { additionalProperties: false },
)

const TokenCreateBody = Type.Object({ name: NameSchema, role: RoleSchema }, { additionalProperties: false })
const TokenListQuery = Type.Object(
  { ...AdminPageQuery, kind: Type.Optional(Type.Enum(['api', 'session'])) },
  { additionalProperties: false },
)

type Limits = Static<typeof LimitsSchema>
type UserCreate = Static<typeof UserCreateBody>
type UserPatch = Static<typeof UserPatchBody>
type TokenCreate = Static<typeof TokenCreateBody>

// ---------------------------------------------------------------------------- helpers

/** Only platform admins pass (tenant admins get 403). */
async function platformAdminOnly(request: FastifyRequest): Promise<void> {
  if (!requirePrincipal(request).platformAdmin) {
    throw new AuditedError('forbidden', 'Only platform administrators may do this.')
  }
}

/**
 * `getOne`/`listPage` return rows as the driver reads them (SQLite: dates as text and
 * booleans as 0/1; MariaDB: JSON as text); decoding by the entity makes every dialect answer
 * the same JSON.
 */
function decoded<R extends object>(entity: Entity<R>, raw: Record<string, unknown>): R {
  return decodeRow(entity, raw) as R
}

function shown(row: object): Record<string, unknown> {
  return present(row, SECRETS)
}

/** A tenant admin may not change accounts that carry platform rights (no privilege escalation). */
function assertMayManage(principal: Principal, row: { platform_admin: boolean }): void {
  if (row.platform_admin && !principal.platformAdmin) {
    throw new AuditedError('forbidden', 'Only platform administrators may change a platform account.')
  }
}

function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send()
}

// ---------------------------------------------------------------------------- tenants

async function findTenant(deps: RouteDeps, id: string): Promise<TenantRow> {
  const raw = await deps.db.readKysely
    .selectFrom('tenants')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  if (raw === undefined) throw new AuditedError('not_found', 'No such tenant.', { details: { id } })
  return decoded(tenants, raw as Record<string, unknown>)
}

/**
 * The tenant and its first admin token in one transaction: a tenant nobody can administer
 * must never exist. The events belong to the new tenant's timeline (ctx.tenantId), while
 * the actor is still the platform admin who asked.
 */
async function createTenant(
  deps: RouteDeps,
  request: FastifyRequest,
  name: string,
): Promise<{ tenant: Record<string, unknown>; adminToken: string }> {
  const tenantId = newRecordId()
  const ctx: AuditContext = { ...auditContext(request), tenantId }
  const { token, row: tokenRow } = newApiToken(newRecordId(), 'admin', 'initial admin token')
  const tenant = await deps.auditor.transaction(ctx, async (tx) => {
    const row = await tx.create(tenants, created({ id: tenantId, name, limits: null }))
    await tx.create(tokens, tokenRow)
    return row
  })
  return { tenant: present(tenant), adminToken: token }
}

/**
 * Merges the given limits into the stored ones. `expectedVersion` turns a concurrent
 * PATCH into 409 instead of silently dropping the other caller's fields. The event goes to
 * the changed tenant's timeline, where its admins and auditors can see it.
 */
async function patchLimits(
  deps: RouteDeps,
  request: FastifyRequest,
  id: string,
  limits: Limits,
): Promise<TenantRow> {
  const current = await findTenant(deps, id)
  const ctx: AuditContext = { ...auditContext(request), tenantId: id }
  return deps.auditor.update(
    tenants,
    id,
    touched({ limits: { ...(current.limits ?? {}), ...limits } }),
    ctx,
    { expectedVersion: current.version },
  )
}

function tenantRoutes(app: App, deps: RouteDeps): void {
  app.post(
    '/api/v1/tenants',
    { schema: { body: TenantCreateBody }, preValidation: platformAdminOnly },
    async (request, reply) => {
      const result = await createTenant(deps, request, request.body.name)
      return reply.code(201).send(result)
    },
  )

  app.patch(
    '/api/v1/tenants/:id',
    { schema: { params: IdParams, body: TenantPatchBody }, preValidation: platformAdminOnly },
    async (request) => present(await patchLimits(deps, request, request.params.id, request.body.limits)),
  )

  app.get(
    '/api/v1/tenants/:id',
    { schema: { params: IdParams }, preValidation: allow('admin') },
    async (request) => {
      const p = requirePrincipal(request)
      // Another tenant is 404 for a tenant admin: its existence is not theirs to learn.
      if (!p.platformAdmin && p.tenantId !== request.params.id) {
        throw new AuditedError('not_found', 'No such tenant.', { details: { id: request.params.id } })
      }
      return present(await findTenant(deps, request.params.id))
    },
  )
}

// ---------------------------------------------------------------------------- users

async function findUser(deps: RouteDeps, tenantId: string, id: string): Promise<UserRow> {
  return decoded(users, await getOne(deps.db, 'users', tenantId, id))
}

/** The ids of a user's login sessions (read before the write that revokes them). */
async function sessionIds(deps: RouteDeps, tenantId: string, userId: string): Promise<string[]> {
  const rows = await deps.db.readKysely
    .selectFrom('tokens')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('kind', '=', 'session')
    .execute()
  return rows.map((r) => String(r.id))
}

async function revoke(tx: AuditedWriter, ids: readonly string[]): Promise<void> {
  for (const id of ids) await tx.delete(tokens, id)
}

async function createUser(deps: RouteDeps, ctx: AuditContext, body: UserCreate): Promise<UserRow> {
  return deps.auditor.create(
    users,
    created({
      id: newRecordId(),
      email: body.email.toLowerCase(),
      password_hash: await hashPassword(body.password),
      role: body.role,
      // Platform rights are granted only by bootstrap, never over the API.
      platform_admin: false,
      name: body.name ?? null,
    }),
    ctx,
  )
}

/** The stored form of a PATCH: the password hashed, absent fields left out. */
async function userPatch(body: UserPatch): Promise<Partial<UserRow>> {
  const patch: Partial<UserRow> = {}
  if (body.name !== undefined) patch.name = body.name
  if (body.role !== undefined) patch.role = body.role
  if (body.password !== undefined) patch.password_hash = await hashPassword(body.password)
  return touched(patch)
}

async function updateUser(
  deps: RouteDeps,
  request: FastifyRequest,
  id: string,
  body: UserPatch,
): Promise<UserRow> {
  const p = requirePrincipal(request)
  const current = await findUser(deps, p.tenantId, id)
  assertMayManage(p, current)
  if (body.role !== undefined && p.actorType === 'user' && p.actorId === id) {
    throw new AuditedError('conflict', 'You cannot change your own role.')
  }
  const patch = await userPatch(body)
  const credentialsChange = body.role !== undefined || body.password !== undefined
  const sessions = credentialsChange ? await sessionIds(deps, p.tenantId, id) : []
  return deps.auditor.transaction(auditContext(request), async (tx) => {
    const row = await tx.update(users, id, patch, { expectedVersion: current.version })
    await revoke(tx, sessions)
    return row
  })
}

async function deleteUser(deps: RouteDeps, request: FastifyRequest, id: string): Promise<void> {
  const p = requirePrincipal(request)
  const current = await findUser(deps, p.tenantId, id)
  assertMayManage(p, current)
  if (p.actorType === 'user' && p.actorId === id) {
    throw new AuditedError('conflict', 'You cannot delete yourself.')
  }
  const sessions = await sessionIds(deps, p.tenantId, id)
  await deps.auditor.transaction(auditContext(request), async (tx) => {
    await revoke(tx, sessions)
    await tx.delete(users, id, { expectedVersion: current.version })
  })
}

function userRoutes(app: App, deps: RouteDeps): void {
  const admins = allow('admin')

  app.get(
    '/api/v1/users',
    { schema: { querystring: UserListQuery }, preValidation: admins },
    async (request) => {
      const { role, ...query } = request.query
      const { rows, nextCursor } = await listPage(
        deps.db,
        'users',
        requirePrincipal(request).tenantId,
        page(query),
        { role },
      )
      return { items: rows.map((r) => shown(decoded(users, r))), nextCursor }
    },
  )

  app.post(
    '/api/v1/users',
    { schema: { body: UserCreateBody }, preValidation: admins },
    async (request, reply) => {
      const row = await createUser(deps, auditContext(request), request.body)
      return reply.code(201).send(shown(row))
    },
  )

  app.get('/api/v1/users/:id', { schema: { params: IdParams }, preValidation: admins }, async (request) =>
    shown(await findUser(deps, requirePrincipal(request).tenantId, request.params.id)),
  )

  app.patch(
    '/api/v1/users/:id',
    { schema: { params: IdParams, body: UserPatchBody }, preValidation: admins },
    async (request) => shown(await updateUser(deps, request, request.params.id, request.body)),
  )

  app.delete(
    '/api/v1/users/:id',
    { schema: { params: IdParams }, preValidation: admins },
    async (request, reply) => {
      await deleteUser(deps, request, request.params.id)
      return noContent(reply)
    },
  )
}

// ---------------------------------------------------------------------------- roles

function roleRoutes(app: App): void {
  app.get('/api/v1/roles', async (request) => {
    requirePrincipal(request)
    return { items: ROLES.map((name) => ({ name, description: ROLE_DESCRIPTIONS[name] })) }
  })
}

// ---------------------------------------------------------------------------- tokens

/** A new API token; the bearer string exists only in this response, the database keeps its hash. */
async function createToken(
  deps: RouteDeps,
  ctx: AuditContext,
  body: TokenCreate,
): Promise<{ row: TokenRow; token: string }> {
  const made = newApiToken(newRecordId(), body.role, body.name)
  const token = made.token
  const row = await deps.auditor.create(tokens, made.row, ctx)
  return { row, token }
}

async function deleteToken(deps: RouteDeps, request: FastifyRequest, id: string): Promise<void> {
  const p = requirePrincipal(request)
  const current = decoded(tokens, await getOne(deps.db, 'tokens', p.tenantId, id))
  assertMayManage(p, current)
  await deps.auditor.delete(tokens, id, auditContext(request), { expectedVersion: current.version })
}

function tokenRoutes(app: App, deps: RouteDeps): void {
  const admins = allow('admin')

  app.get(
    '/api/v1/tokens',
    { schema: { querystring: TokenListQuery }, preValidation: admins },
    async (request) => {
      const { kind, ...query } = request.query
      const { rows, nextCursor } = await listPage(
        deps.db,
        'tokens',
        requirePrincipal(request).tenantId,
        page(query),
        {
          kind,
        },
      )
      return { items: rows.map((r) => shown(decoded(tokens, r))), nextCursor }
    },
  )

  app.post(
    '/api/v1/tokens',
    { schema: { body: TokenCreateBody }, preValidation: admins },
    async (request, reply) => {
      const { row, token } = await createToken(deps, auditContext(request), request.body)
      return reply.code(201).send({ ...shown(row), token })
    },
  )

  app.delete(
    '/api/v1/tokens/:id',
    { schema: { params: IdParams }, preValidation: admins },
    async (request, reply) => {
      await deleteToken(deps, request, request.params.id)
      return noContent(reply)
    },
  )
}

// ---------------------------------------------------------------------------- plugin

/** Tenants, users, roles and tokens under `/api/v1`. */
export async function adminRoutes(app: App, deps: RouteDeps): Promise<void> {
  tenantRoutes(app, deps)
  userRoutes(app, deps)
  roleRoutes(app)
  tokenRoutes(app, deps)
}
