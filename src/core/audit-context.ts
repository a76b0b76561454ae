import { AuditedError } from './errors.js'

export type ActorType = 'user' | 'api_token' | 'system'

/**
 * Who is writing, for whom, from where. Every audited call takes one; it is recorded on
 * every event the call produces.
 *
 * @example
 * const ctx: AuditContext = { tenantId: 'acme', actorId: 'u_1', actorType: 'user', requestId: 'r-9' }
 */
export interface AuditContext {
  /** The organisation the records belong to. `null` only for libraries without tenants. */
  readonly tenantId: string | null
  readonly actorId: string
  readonly actorType: ActorType
  readonly requestId?: string
  readonly ip?: string
  readonly userAgent?: string
  readonly reason?: string
  /** Extra JSON-serialisable facts stored on the event. */
  readonly metadata?: Record<string, unknown>
  /** Aborts the call: the transaction is rolled back and its connection returned. */
  readonly signal?: AbortSignal
}

const ACTOR_TYPES: readonly string[] = ['user', 'api_token', 'system']
const MAX = { id: 255, text: 1000 } as const

/** Checks a context before any work starts; bad input is a `validation` error. */
export function assertAuditContext(ctx: unknown): asserts ctx is AuditContext {
  if (typeof ctx !== 'object' || ctx === null) throw invalid('ctx', 'must be an object')
  const c = ctx as Record<string, unknown>
  if (c.tenantId !== null && !isShortString(c.tenantId, MAX.id)) {
    throw invalid('tenantId', 'must be a non-empty string or null')
  }
  if (!isShortString(c.actorId, MAX.id)) throw invalid('actorId', 'must be a non-empty string')
  if (typeof c.actorType !== 'string' || !ACTOR_TYPES.includes(c.actorType)) {
    throw invalid('actorType', `must be one of ${ACTOR_TYPES.join(', ')}`)
  }
  for (const key of ['requestId', 'ip', 'userAgent', 'reason'] as const) {
    if (c[key] !== undefined && !isShortString(c[key], MAX.text)) throw invalid(key, 'must be a short string')
  }
  if (c.metadata !== undefined && (typeof c.metadata !== 'object' || c.metadata === null)) {
    throw invalid('metadata', 'must be an object')
  }
  if (c.signal !== undefined && !(c.signal instanceof AbortSignal))
    throw invalid('signal', 'must be an AbortSignal')
}

function isShortString(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max
}

function invalid(field: string, rule: string): AuditedError {
  return new AuditedError('validation', `Audit context: ${field} ${rule}.`, { details: { field } })
}
