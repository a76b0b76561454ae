/**
 * Tenants: created and limited by platform admins; a tenant's admins read their own.
 * A 201 names the new tenant's URL in `Location`; its first admin API token is shown once.
 */

import { AuditedError } from 'audited'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { createTenant, findTenant, patchLimits } from '../../cms/tenant-operations.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { IdParams, NameSchema, present, sendCreated } from '../resource.js'
import { AUTHORIZED, created, errors, ref } from '../schemas/envelope.js'
import type { RouteDeps } from './deps.js'

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

/** Only platform admins pass (tenant admins get 403). */
/** Only platform admins pass (tenant admins get 403). */
async function platformAdminOnly(request: FastifyRequest): Promise<void> {
  if (!requirePrincipal(request).platformAdmin) {
    throw new AuditedError('forbidden', 'Only platform administrators may do this.')
  }
}

const op = (operationId: string, summary: string) => ({ tags: ['tenants'], operationId, summary })

// ---------------------------------------------------------------------------- tenants

export function tenantRoutes(app: App, deps: RouteDeps): void {
  app.post(
    '/api/v1/tenants',
    {
      schema: {
        ...op('createTenant', 'Create a tenant and its first admin API token (platform admins)'),
        body: TenantCreateBody,
        response: { 201: created('TenantCreated'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
      preValidation: platformAdminOnly,
    },
    async (request, reply) => {
      const { tenant, adminToken } = await createTenant(deps, callerOf(request), request.body.name)
      return sendCreated(reply, `/api/v1/tenants/${tenant.id}`, { tenant: present(tenant), adminToken })
    },
  )

  app.patch(
    '/api/v1/tenants/:id',
    {
      schema: {
        ...op('patchTenant', "Change a tenant's limits (platform admins)"),
        params: IdParams,
        body: TenantPatchBody,
        response: { 200: ref('Tenant'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
      preValidation: platformAdminOnly,
    },
    async (request) =>
      present(await patchLimits(deps, callerOf(request), request.params.id, request.body.limits)),
  )

  app.get(
    '/api/v1/tenants/:id',
    {
      schema: {
        ...op('getTenant', "Read the caller's tenant (platform admins: any tenant)"),
        params: IdParams,
        response: { 200: ref('Tenant'), ...errors(...AUTHORIZED, 404) },
      },
      preValidation: allow('admin'),
    },
    async (request) => {
      const p = requirePrincipal(request)
      // Another tenant is 404 for a tenant admin: its existence is not theirs to learn.
      if (!p.platformAdmin && p.tenantId !== request.params.id) {
        throw new AuditedError('not_found', 'No such tenant.', { details: { id: request.params.id } })
      }
      return present(await findTenant(deps.db, request.params.id))
    },
  )
}
