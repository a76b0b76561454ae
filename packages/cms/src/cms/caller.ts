import type { AuditContext, AuditedDatabase, Auditor, CreateOptions } from 'audited'

/** What every CMS domain operation works with: the database (reads) and the auditor (writes). */
export interface CmsStore {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
}

/**
 * Who asks for a domain operation: the audit context of its writes, the tenant every read
 * is scoped to, and the facts the resource rules depend on. Routes build it from the
 * request's principal; the CLI and bootstrap build a `system` one.
 */
export interface Caller {
  readonly ctx: AuditContext
  readonly tenantId: string
  readonly platformAdmin: boolean
  /** The calling user, when a user (not a token or the system) is calling. */
  readonly userId: string | null
  /** Set while the caller restores the resource to this event: its writes record `restore`. */
  readonly restoredFrom?: string
}

/** The same caller, writing into another tenant's timeline (tenant records, new tenants). */
export function inTenant(caller: Caller, tenantId: string): Caller {
  return { ...caller, tenantId, ctx: { ...caller.ctx, tenantId } }
}

/** The same caller, its events marked as a restore of `eventId` (reason and metadata). */
export function restoring(caller: Caller, eventId: string): Caller {
  const reason = caller.ctx.reason ?? `restore of event ${eventId}`
  return {
    ...caller,
    restoredFrom: eventId,
    ctx: { ...caller.ctx, reason, metadata: { ...caller.ctx.metadata, restoredFrom: eventId } },
  }
}

/** The write option every domain write of `caller` passes: a restore records `restore`. */
export function recordedAs(caller: Caller): CreateOptions {
  return caller.restoredFrom === undefined ? {} : { action: 'restore' }
}

/** A caller without a user behind it (the CLI, scheduled jobs): never platform rights. */
export function systemCaller(tenantId: string, actorId: string, reason: string): Caller {
  return {
    ctx: { tenantId, actorId, actorType: 'system', reason },
    tenantId,
    platformAdmin: false,
    userId: null,
  }
}

/**
 * The operator at the command line (`audited admin …`): whoever can run the CLI against
 * the database could change it directly, so it may manage platform accounts too; its
 * writes are audited as the `system` actor with the command as reason.
 */
export function operatorCaller(tenantId: string, actorId: string, reason: string): Caller {
  return { ...systemCaller(tenantId, actorId, reason), platformAdmin: true }
}
