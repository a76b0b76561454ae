import type { ERROR_CODES, ErrorCode, ErrorReason } from '../core/error-catalogue.js'
import { AuditedError, type AuditedErrorOptions } from '../core/errors.js'

/**
 * One entry of a dialect's driver-error table: the catalogue code, its `details.reason`
 * (required for the codes that always carry one) and the client message. The dialects map
 * the same situation to the same code and reason (see the README's error table).
 */
export type Classification = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['reasonRequired'] extends true
    ? readonly [code: C, reason: ErrorReason<C>, message: string]
    : readonly [code: C, message: string] | readonly [code: C, reason: ErrorReason<C>, message: string]
}[ErrorCode]

type LooseConstructor = new (code: ErrorCode, message: string, options: AuditedErrorOptions) => AuditedError

/** The `AuditedError` a table entry stands for, keeping the driver error as its cause. */
export function classified(entry: Classification, cause: unknown): AuditedError {
  const [code, reason, message] = entry.length === 3 ? entry : [entry[0], undefined, entry[1]]
  // The tuple type ties each reason to its code; the constructor cannot see that through it.
  return new (AuditedError as LooseConstructor)(code, message, {
    cause,
    ...(reason === undefined ? {} : { details: { reason } }),
  })
}
