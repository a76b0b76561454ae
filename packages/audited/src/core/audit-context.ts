import { canonicalize } from './canonical-json.js'
import { AuditedError } from './errors.js'
import { characterCount, textProblem } from './text-rules.js'

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

/**
 * The size (characters) of the change-event column that stores each context string. The
 * migration creates the columns from these numbers and `assertAuditContext` checks them,
 * so a value that fits is stored on every dialect and one that does not is refused on
 * every dialect alike (SQLite would store anything; PostgreSQL and MySQL fail the write).
 */
export const CONTEXT_COLUMN_SIZES = {
  tenantId: 255,
  actorId: 255,
  requestId: 255,
  ip: 64,
  userAgent: 1000,
  reason: 1000,
} as const

const ACTOR_TYPES: readonly string[] = ['user', 'api_token', 'system']

/**
 * A checked audit context: the same object, or a `validation` error naming the bad field.
 * Written as a call, the literal's `actorType` keeps its literal type in TypeScript (no
 * `as const` needed), and a typo fails where the context is made, not at the first write.
 *
 * @example
 * const ctx = auditContext({ tenantId: 'acme', actorId: 'u_1', actorType: 'user' })
 */
export function auditContext<C extends AuditContext>(ctx: C): C {
  assertAuditContext(ctx)
  return ctx
}

/** Checks a context before any work starts; bad input is a `validation` error naming the field. */
export function assertAuditContext(ctx: unknown): asserts ctx is AuditContext {
  if (typeof ctx !== 'object' || ctx === null) throw invalid('ctx', 'must be an object')
  const c = ctx as Record<string, unknown>
  if (c.tenantId !== null) checkText(c, 'tenantId', 'must be a non-empty string or null')
  checkText(c, 'actorId', 'must be a non-empty string')
  if (typeof c.actorType !== 'string' || !ACTOR_TYPES.includes(c.actorType)) {
    throw invalid('actorType', `must be one of ${ACTOR_TYPES.join(', ')}`)
  }
  for (const key of ['requestId', 'ip', 'userAgent', 'reason'] as const) {
    if (c[key] !== undefined) checkText(c, key, 'must be a non-empty string')
  }
  if (c.metadata !== undefined) {
    if (typeof c.metadata !== 'object' || c.metadata === null) throw invalid('metadata', 'must be an object')
    canonicalize(c.metadata, 'metadata') // refused here, before any statement, not at COMMIT
  }
  if (c.signal !== undefined && !(c.signal instanceof AbortSignal))
    throw invalid('signal', 'must be an AbortSignal')
}

/** A non-empty string that fits its column (counted in characters, as the databases do)
 * and holds only storable text. */
function checkText(c: Record<string, unknown>, key: keyof typeof CONTEXT_COLUMN_SIZES, rule: string): void {
  const v = c[key]
  if (typeof v !== 'string' || v.length === 0) throw invalid(key, rule)
  const max = CONTEXT_COLUMN_SIZES[key]
  if (v.length > max && characterCount(v) > max) throw invalid(key, `must be at most ${max} characters`)
  const problem = textProblem(v)
  if (problem !== undefined) throw invalid(key, `must not contain ${problem}`)
}

function invalid(field: string, rule: string): AuditedError {
  return new AuditedError('validation', `Audit context: ${field} ${rule}.`, { details: { field } })
}
