/**
 * The closed error catalogue. Every error the library throws on purpose is an
 * `AuditedError` with one of these codes; driver errors are classified into them by the
 * dialect object (by SQLSTATE / errno / SQLite code, never by message text).
 *
 * Classify by the `code` property (see `isAuditedError`), not `instanceof`: two copies of
 * the package in one process must still understand each other's errors.
 *
 * @example
 * try { await auditor.update(posts, id, patch, ctx) }
 * catch (e) { if (isAuditedError(e) && e.code === 'conflict') reply.code(e.status) }
 */
export const ERROR_CODES = {
  validation: { status: 400, retryable: false, message: 'The request is invalid.' },
  unauthorized: { status: 401, retryable: false, message: 'Authentication is required.' },
  forbidden: { status: 403, retryable: false, message: 'This action is not allowed.' },
  not_found: { status: 404, retryable: false, message: 'The record was not found.' },
  conflict: { status: 409, retryable: false, message: 'The write conflicts with the current state.' },
  rejected: { status: 422, retryable: false, message: 'The write was rejected.' },
  rate_limited: { status: 429, retryable: true, message: 'Too many requests.' },
  unavailable: { status: 503, retryable: true, message: 'The service is temporarily unavailable.' },
  internal: { status: 500, retryable: false, message: 'Internal error.' },
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export interface AuditedErrorOptions {
  /** Structured, client-safe details (field names, expected version, …). */
  readonly details?: Record<string, unknown>
  /** The underlying error; kept for logs, never shown to clients. */
  readonly cause?: unknown
  /** Overrides the catalogue's default (e.g. a deadlock is `conflict` but retryable). */
  readonly retryable?: boolean
  /** Seconds a client should wait before retrying (for 429 / 503). */
  readonly retryAfterSeconds?: number
}

export class AuditedError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly retryable: boolean
  readonly details: Record<string, unknown> | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(code: ErrorCode, message?: string, options: AuditedErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause })
    this.name = 'AuditedError'
    this.code = code
    this.status = ERROR_CODES[code].status
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable
    this.details = options.details
    this.retryAfterSeconds = options.retryAfterSeconds
  }

  /**
   * What a client may see. An `internal` error never carries its message, cause or stack;
   * the other codes carry the message written for clients and the details.
   */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    if (this.code === 'internal') return { code: 'internal', message: ERROR_CODES.internal.message }
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details }
  }
}

/** True for any error carrying a catalogue code, whichever copy of the package made it. */
export function isAuditedError(e: unknown): e is AuditedError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { name?: unknown }).name === 'AuditedError' &&
    typeof (e as { code?: unknown }).code === 'string' &&
    Object.hasOwn(ERROR_CODES, (e as { code: string }).code)
  )
}

/** Wraps anything unknown as `internal`, keeping it as the cause; catalogue errors pass through. */
export function toAuditedError(e: unknown): AuditedError {
  if (isAuditedError(e)) return e
  return new AuditedError('internal', undefined, { cause: e })
}
