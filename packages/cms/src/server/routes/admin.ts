/**
 * Administration: tenants (platform admins), users, roles and API tokens (a tenant's
 * admins). Routes parse, authorize, call the resource's domain operation (src/cms/*-operations.ts,
 * where the rules below live, for every path that writes) and present the result; each
 * change has its event; secrets (password and token hashes) are never returned and are
 * redacted in events by the entity definitions.
 *
 * Choices a client can observe:
 * - Lists answer `{ items, nextCursor, hasMore }`; single records are returned as-is (camelCase);
 *   a 201 names the created record's URL in `Location`.
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

import type { Entity } from 'audited'
import { decodeRow } from 'audited'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { ROLES, type Role, tokens, users } from '../../cms/entities.js'
import { createApiToken, deleteToken } from '../../cms/token-operations.js'
import { createUser, deleteUser, findUser, PASSWORD_LENGTH, updateUser } from '../../cms/user-operations.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import {
  getOne,
  IdParams,
  listPage,
  NameSchema,
  PageQuery,
  pageOf,
  present,
  sendCreated,
} from '../resource.js'
import { AUTHENTICATED, AUTHORIZED, created, errors, NoContent, ref } from '../schemas/envelope.js'
import type { RouteDeps } from './deps.js'
import { tenantRoutes } from './tenants.js'

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
// The domain rule, declared for the schema (and /openapi.json) too.
const PasswordSchema = Type.String({ minLength: PASSWORD_LENGTH.min, maxLength: PASSWORD_LENGTH.max })

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
const UserListQuery = Type.Object(
  { ...PageQuery, role: Type.Optional(RoleSchema) },
  { additionalProperties: false },
)

const TokenCreateBody = Type.Object({ name: NameSchema, role: RoleSchema }, { additionalProperties: false })
const TokenListQuery = Type.Object(
  { ...PageQuery, kind: Type.Optional(Type.Enum(['api', 'session'])) },
  { additionalProperties: false },
)

// ---------------------------------------------------------------------------- helpers

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

function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send()
}

/** The OpenAPI facts of an operation. */
const op = (tag: string, operationId: string, summary: string) => ({ tags: [tag], operationId, summary })

// ---------------------------------------------------------------------------- users

function userRoutes(app: App, deps: RouteDeps): void {
  const admins = allow('admin')

  app.get(
    '/api/v1/users',
    {
      schema: {
        ...op('users', 'listUsers', "List the tenant's users (filter: role)"),
        querystring: UserListQuery,
        response: { 200: ref('UserPage'), ...errors(...AUTHORIZED) },
      },
      preValidation: admins,
    },
    async (request) => {
      const { role, ...query } = request.query
      const { rows, nextCursor } = await listPage(
        deps.db,
        'users',
        requirePrincipal(request).tenantId,
        query,
        {
          role,
        },
      )
      return pageOf(
        rows.map((r) => shown(decoded(users, r))),
        nextCursor,
      )
    },
  )

  app.post(
    '/api/v1/users',
    {
      schema: {
        ...op('users', 'createUser', 'Create a user (e-mails are unique across tenants: 409)'),
        body: UserCreateBody,
        response: { 201: created('User'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
      preValidation: admins,
    },
    async (request, reply) => {
      const row = await createUser(deps, callerOf(request), request.body)
      return sendCreated(reply, `/api/v1/users/${row.id}`, shown(row))
    },
  )

  app.get(
    '/api/v1/users/:id',
    {
      schema: {
        ...op('users', 'getUser', 'Read a user'),
        params: IdParams,
        response: { 200: ref('User'), ...errors(...AUTHORIZED, 404) },
      },
      preValidation: admins,
    },
    async (request) => shown(await findUser(deps.db, requirePrincipal(request).tenantId, request.params.id)),
  )

  app.patch(
    '/api/v1/users/:id',
    {
      schema: {
        ...op('users', 'patchUser', "Change a user's name, role or password (ends the user's sessions)"),
        params: IdParams,
        body: UserPatchBody,
        response: { 200: ref('User'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
      preValidation: admins,
    },
    async (request) => shown(await updateUser(deps, callerOf(request), request.params.id, request.body)),
  )

  app.delete(
    '/api/v1/users/:id',
    {
      schema: {
        ...op('users', 'deleteUser', 'Delete a user and their sessions'),
        params: IdParams,
        response: { 204: NoContent, ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
      preValidation: admins,
    },
    async (request, reply) => {
      await deleteUser(deps, callerOf(request), request.params.id)
      return noContent(reply)
    },
  )
}

// ---------------------------------------------------------------------------- roles

function roleRoutes(app: App): void {
  app.get(
    '/api/v1/roles',
    {
      schema: {
        ...op('roles', 'listRoles', 'The roles and what each allows (one page)'),
        response: { 200: ref('RolePage'), ...errors(...AUTHENTICATED) },
      },
    },
    async (request) => {
      requirePrincipal(request)
      return pageOf(
        ROLES.map((name) => ({ name, description: ROLE_DESCRIPTIONS[name] })),
        null,
      )
    },
  )
}

// ---------------------------------------------------------------------------- tokens

function tokenRoutes(app: App, deps: RouteDeps): void {
  const admins = allow('admin')

  app.get(
    '/api/v1/tokens',
    {
      schema: {
        ...op('tokens', 'listTokens', 'List API tokens and sessions (filter: kind)'),
        querystring: TokenListQuery,
        response: { 200: ref('TokenPage'), ...errors(...AUTHORIZED) },
      },
      preValidation: admins,
    },
    async (request) => {
      const { kind, ...query } = request.query
      const { rows, nextCursor } = await listPage(
        deps.db,
        'tokens',
        requirePrincipal(request).tenantId,
        query,
        {
          kind,
        },
      )
      return pageOf(
        rows.map((r) => shown(decoded(tokens, r))),
        nextCursor,
      )
    },
  )

  app.post(
    '/api/v1/tokens',
    {
      schema: {
        ...op('tokens', 'createToken', 'Create an API token (the token is shown once)'),
        body: TokenCreateBody,
        response: { 201: created('TokenCreated'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
      preValidation: admins,
    },
    async (request, reply) => {
      const { row, token } = await createApiToken(deps, callerOf(request), request.body)
      return sendCreated(reply, `/api/v1/tokens/${row.id}`, { ...shown(row), token })
    },
  )

  app.get(
    '/api/v1/tokens/:id',
    {
      schema: {
        ...op('tokens', 'getToken', 'Read an API token or session (never its secret)'),
        params: IdParams,
        response: { 200: ref('Token'), ...errors(...AUTHORIZED, 404) },
      },
      preValidation: admins,
    },
    async (request) =>
      shown(
        decoded(
          tokens,
          await getOne(deps.db, 'tokens', requirePrincipal(request).tenantId, request.params.id),
        ),
      ),
  )

  app.delete(
    '/api/v1/tokens/:id',
    {
      schema: {
        ...op('tokens', 'deleteToken', 'Revoke an API token or session'),
        params: IdParams,
        response: { 204: NoContent, ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
      preValidation: admins,
    },
    async (request, reply) => {
      await deleteToken(deps, callerOf(request), request.params.id)
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
