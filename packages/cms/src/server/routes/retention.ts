import { AuditedError } from 'audited'
import { type Static, Type } from 'typebox'
import { createHold, holdRow, putPolicy, readPolicy, releaseHold } from '../../cms/retention-operations.js'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { getOne, IdParams, listPage, PageQuery, pageOf, presentRecord, sendCreated } from '../resource.js'
import { AUTHORIZED, created, errors, NoContent, ref } from '../schemas/envelope.js'
import { HoldBody, PolicyBody } from '../schemas/retention.js'
import type { RouteDeps } from './deps.js'

const op = (operationId: string, summary: string) => ({ tags: ['retention'], operationId, summary })
const ADMINS = allow('admin')
const ListQuery = Type.Object(PageQuery, { additionalProperties: false })
type ListQuery = Static<typeof ListQuery>

const showHold = (raw: object) => presentRecord('legal_holds', holdRow(raw))

/**
 * Retention (README "Retention, archive and legal hold"): the tenant's policy and its legal
 * holds, admins only. Every change is an audited write; the runs themselves are the CLI's
 * `audited retention run` and the server's RETENTION_INTERVAL_MS schedule.
 */
export async function retentionRoutes(app: App, deps: RouteDeps): Promise<void> {
  const { db } = deps
  app.get(
    '/api/v1/retention',
    {
      preValidation: ADMINS,
      schema: {
        ...op('getRetentionPolicy', "The tenant's retention policy (404: none, nothing is purged)"),
        response: { 200: ref('RetentionPolicy'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => {
      const policy = await readPolicy(deps, requirePrincipal(request).tenantId)
      if (policy === undefined)
        throw new AuditedError('not_found', 'No retention policy is set: no event is ever purged.')
      return policy
    },
  )
  app.put(
    '/api/v1/retention',
    {
      preValidation: ADMINS,
      schema: {
        ...op(
          'putRetentionPolicy',
          "Set the tenant's retention policy (keepDays, archive, per-table keepDays)",
        ),
        body: PolicyBody,
        response: { 200: ref('RetentionPolicy'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
    },
    async (request) => putPolicy(deps, callerOf(request), request.body),
  )
  app.get(
    '/api/v1/legal-holds',
    {
      preValidation: ADMINS,
      schema: {
        ...op('listLegalHolds', "List the tenant's legal holds"),
        querystring: ListQuery,
        response: { 200: ref('LegalHoldPage'), ...errors(...AUTHORIZED) },
      },
    },
    async (request) => {
      const tenantId = requirePrincipal(request).tenantId
      const page = await listPage(db, 'legal_holds', tenantId, request.query as ListQuery)
      return pageOf(page.rows.map(showHold), page.nextCursor)
    },
  )
  app.get(
    '/api/v1/legal-holds/:id',
    {
      preValidation: ADMINS,
      schema: {
        ...op('getLegalHold', 'Read a legal hold'),
        params: IdParams,
        response: { 200: ref('LegalHold'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) =>
      showHold(await getOne(db, 'legal_holds', requirePrincipal(request).tenantId, request.params.id)),
  )
  app.post(
    '/api/v1/legal-holds',
    {
      preValidation: ADMINS,
      schema: {
        ...op('createLegalHold', 'Place a legal hold on the tenant, a record (table + id) or an actor'),
        body: HoldBody,
        response: { 201: created('LegalHold'), ...errors(...AUTHORIZED, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      const row = await createHold(deps, callerOf(request), request.body)
      return sendCreated(reply, `/api/v1/legal-holds/${row.id}`, presentRecord('legal_holds', row))
    },
  )
  app.delete(
    '/api/v1/legal-holds/:id',
    {
      preValidation: ADMINS,
      schema: {
        ...op('releaseLegalHold', 'Release a legal hold (the next run may purge what it kept)'),
        params: IdParams,
        response: { 204: NoContent, ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request, reply) => {
      await releaseHold(deps, callerOf(request), request.params.id)
      return reply.code(204).send()
    },
  )
}
