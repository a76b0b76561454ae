import type { FastifyRequest } from 'fastify'
import type { Caller } from '../cms/caller.js'
import { auditContext, requirePrincipal } from './principal.js'

/** The domain operations' caller for an authenticated request. */
export function callerOf(request: FastifyRequest): Caller {
  const p = requirePrincipal(request)
  return {
    ctx: auditContext(request),
    tenantId: p.tenantId,
    platformAdmin: p.platformAdmin,
    userId: p.actorType === 'user' ? p.actorId : null,
  }
}
