import { ERROR_CODES, type ErrorCode, type ErrorDetails, reasonInfo } from './error-catalogue.js'

export { ERROR_CODES, type ErrorCode, type ErrorDetails, type ErrorReason } from './error-catalogue.js'

/**
 * The closed error catalogue (src/core/error-catalogue.ts). Every error the library throws
 * on purpose is an `AuditedError` with one of its codes and, for `conflict`,
 * `rate_limited` and `unavailable` always, a `details.reason` it lists; driver errors are
 * classified into them by the dialect object (by SQLSTATE / errno / SQLite code, never by
 * message text), the same situation to the same code and reason on every database.
 *
 * Classify by the `code` property (see `isAuditedError`), not `instanceof`: two copies of
 * the package in one process must still understand each other's errors.
 *
 * @example
 * try { await auditor.update(posts, id, patch, ctx) }
 * catch (e) { if (isAuditedError(e) && e.code === 'conflict' && e.details.reason === 'version') reload() }
 */
export interface AuditedErrorOptions<C extends ErrorCode = ErrorCode> {
  /** Structured, client-safe details (field names, expected version, …) and the reason. */
  readonly details?: ErrorDetails<C>
  /** The underlying error; kept for logs, never shown to clients. */
  readonly cause?: unknown
  /** Overrides the catalogue's default for the code and reason. */
  readonly retryable?: boolean | undefined
  /** Seconds a client should wait before retrying (for 429 / 503). */
  readonly retryAfterSeconds?: number
}

/** The options argument: required, with `details.reason`, for the codes that need a reason. */
export type AuditedErrorArgs<C extends ErrorCode> = C extends ErrorCode
  ? (typeof ERROR_CODES)[C]['reasonRequired'] extends true
    ? [options: AuditedErrorOptions<C> & { readonly details: ErrorDetails<C> }]
    : [options?: AuditedErrorOptions<C>]
  : never

export class AuditedError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C
  readonly status: number
  readonly retryable: boolean
  readonly details: ErrorDetails<C> | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(code: C, message?: string, ...[options = {}]: AuditedErrorArgs<C>) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause })
    const reason = reasonInfo(code, options.details?.reason)
    this.name = 'AuditedError'
    this.code = code
    this.status = reason?.status ?? ERROR_CODES[code].status
    this.retryable = options.retryable ?? reason?.retryable ?? ERROR_CODES[code].retryable
    this.details = options.details as ErrorDetails<C> | undefined
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
