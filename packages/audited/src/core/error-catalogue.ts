/**
 * The error catalogue: every `code` an `AuditedError` can carry and, per code, every
 * `details.reason` the library and the CMS server raise, with its one-line meaning. The
 * README's "Error codes" table is this catalogue (a test compares the two).
 *
 * A reason may change the code's defaults: its HTTP `status` (the transport-level
 * `validation` failures HTTP has its own status for) and whether it is `retryable` (a
 * deadlock is a `conflict`, but retrying it succeeds). Codes with `reasonRequired` always
 * carry a reason: raising one without, or with a reason not listed here, fails to type-check.
 */
export interface ReasonInfo {
  readonly meaning: string
  /** Overrides the code's HTTP status. */
  readonly status?: number
  /** Overrides the code's `retryable`. */
  readonly retryable?: boolean
}

export interface CodeInfo {
  readonly status: number
  readonly retryable: boolean
  /** The default message. */
  readonly message: string
  /** Every error of this code has a `details.reason`. */
  readonly reasonRequired: boolean
  readonly reasons: Readonly<Record<string, ReasonInfo>>
}

export const ERROR_CODES = {
  validation: {
    status: 400,
    retryable: false,
    message: 'The request is invalid.',
    reasonRequired: false,
    reasons: {
      malformed_request: { meaning: 'The request is not valid HTTP.' },
      body_too_large: { status: 413, meaning: 'The request body is larger than the limit (1 MiB).' },
      request_timeout: { status: 408, meaning: 'The request was not received in time.' },
      headers_too_large: { status: 431, meaning: 'The request headers are too large.' },
      invalid_url: { meaning: 'A webhook URL is not a valid absolute URL (or is too long).' },
      blocked_scheme: { meaning: 'A webhook URL is not http or https.' },
      credentials_in_url: { meaning: 'A webhook URL carries a user name or password.' },
      blocked_address: {
        meaning:
          'A webhook host is, or resolves to, an address that is not global unicast (private, local, reserved, metadata), and is not in `WEBHOOK_ALLOW_HOSTS`.',
      },
    },
  },
  unauthorized: {
    status: 401,
    retryable: false,
    message: 'Authentication is required.',
    reasonRequired: false,
    reasons: {},
  },
  forbidden: {
    status: 403,
    retryable: false,
    message: 'This action is not allowed.',
    reasonRequired: false,
    reasons: {},
  },
  not_found: {
    status: 404,
    retryable: false,
    message: 'The record was not found.',
    reasonRequired: false,
    reasons: {
      not_sealed: {
        retryable: true,
        meaning: 'The event is not in a signed checkpoint yet (sealing takes about a second): retry.',
      },
    },
  },
  conflict: {
    status: 409,
    retryable: false,
    message: 'The write conflicts with the current state.',
    reasonRequired: true,
    reasons: {
      unique: { meaning: 'Another record already has this key or unique value.' },
      version: { meaning: 'The record changed since the version the write expected.' },
      foreign_key: {
        meaning:
          'The write would break a reference: the referenced record is missing, or a record still referenced would go.',
      },
      deadlock: {
        retryable: true,
        meaning: 'The write deadlocked with another one and was rolled back; retry it.',
      },
      serialization: {
        retryable: true,
        meaning:
          'Another write changed what this one read before it could commit; it was rolled back; retry it.',
      },
      has_entries: { meaning: 'A field cannot become unique while its content type has entries.' },
      self: { meaning: 'A user cannot change their own role, delete or erase themselves.' },
      erased: { meaning: "The event's personal values were erased: they cannot be restored." },
    },
  },
  rejected: {
    status: 422,
    retryable: false,
    message: 'The write was rejected.',
    reasonRequired: false,
    reasons: {},
  },
  rate_limited: {
    status: 429,
    retryable: true,
    message: 'Too many requests.',
    reasonRequired: false,
    reasons: {
      login_attempts: { meaning: 'Too many failed logins for this account or address; wait `Retry-After`.' },
      login_busy: { meaning: 'Too many logins are being checked at once.' },
      write_rate: { meaning: "The organisation's `writesPerSecond` limit is used up." },
      entry_quota: { meaning: 'The organisation has reached its `maxEntries` quota.', retryable: false },
    },
  },
  unavailable: {
    status: 503,
    retryable: true,
    message: 'The service is temporarily unavailable.',
    reasonRequired: true,
    reasons: {
      pool_exhausted: { meaning: 'No database connection became free within `acquireTimeoutMs`.' },
      timeout: {
        meaning:
          'The operation ran longer than its `timeoutMs` (waiting for a connection or a lock included) and was rolled back.',
      },
      aborted: { meaning: "The caller's signal aborted the operation; it was rolled back." },
      statement_timeout: {
        meaning:
          "The database stopped a statement that ran, or waited for another's lock, longer than its limit (or an operator cancelled it).",
      },
      locked: { meaning: 'SQLite: a table is locked by another statement of the same connection.' },
      out_of_resources: {
        meaning: 'The database refused for lack of resources (connections, memory, disk).',
      },
      unreachable: { meaning: 'The database cannot be reached, or the connection to it was lost.' },
      driver_missing: {
        retryable: false,
        meaning: 'The driver package for this URL scheme is not installed (`details.package` names it).',
      },
      rolled_back: {
        meaning:
          'SQLite rolled back the shared (group-commit) transaction this write was part of: another write in it failed.',
      },
      migration_lock: { meaning: 'Another process holds the migration lock; nothing was applied.' },
      circuit_open: { meaning: 'The database has been failing; the server fails fast until it recovers.' },
      shutting_down: { meaning: 'The server is shutting down.' },
      rate_limiter_unreachable: { meaning: 'The shared rate limiter (Redis) cannot be reached.' },
      nats_unavailable: {
        meaning:
          'Server start: NATS_URL is set but NATS (or its JetStream stream) could not be reached or set up.',
      },
      output_failed: { meaning: 'CLI: the output file could not be written.' },
      dns_failure: { meaning: 'A webhook host name could not be resolved.' },
      archive_failed: {
        meaning:
          'Retention: an archive segment could not be written, synced or read back as written; nothing of it was purged.',
      },
      feed_held_back: {
        meaning:
          "A `from: 'now'` consumer (reported to its `onError`, not thrown): a transaction open longer than 5 s held the feed back, so it started at the last final event.",
      },
      explorer_not_built: {
        retryable: false,
        meaning: 'CMS: the audit explorer (`/admin`) is not built; `npm run build` builds it.',
      },
    },
  },
  internal: {
    status: 500,
    retryable: false,
    message: 'Internal error.',
    reasonRequired: false,
    reasons: {},
  },
} as const satisfies Record<string, CodeInfo>

type Catalogue = typeof ERROR_CODES

export type ErrorCode = keyof Catalogue

/** The reasons listed for `C` (for a union of codes, any of their reasons). */
export type ErrorReason<C extends ErrorCode = ErrorCode> = C extends ErrorCode
  ? keyof Catalogue[C]['reasons'] & string
  : never

/** The details an error of code `C` may carry: anything client-safe, and a listed reason. */
export type ErrorDetails<C extends ErrorCode = ErrorCode> = Readonly<Record<string, unknown>> &
  (Catalogue[C]['reasonRequired'] extends true
    ? { readonly reason: ErrorReason<C> }
    : { readonly reason?: ErrorReason<C> })

/** The catalogue's entry for `reason` of `code`, if it is listed. */
export function reasonInfo(code: ErrorCode, reason: unknown): ReasonInfo | undefined {
  if (typeof reason !== 'string') return undefined
  const reasons: Readonly<Record<string, ReasonInfo>> = ERROR_CODES[code].reasons
  return Object.hasOwn(reasons, reason) ? reasons[reason] : undefined
}
