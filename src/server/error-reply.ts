import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuditedError, isAuditedError } from '../core/errors.js'

/** Fastify's own client errors (body parsing, content type, size) by code. */
const FASTIFY_CLIENT_ERRORS = new Set([
  'FST_ERR_CTP_INVALID_JSON_BODY',
  'FST_ERR_CTP_EMPTY_JSON_BODY',
  'FST_ERR_CTP_INVALID_MEDIA_TYPE',
  'FST_ERR_CTP_BODY_TOO_LARGE',
  'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
  'FST_ERR_CTP_EMPTY_TYPE',
  'FST_ERR_CTP_INVALID_TYPE',
])

/** Maps any error to the catalogue. */
export function classifyHttpError(error: unknown): AuditedError {
  if (isAuditedError(error)) return error
  const e = error as { validation?: unknown; code?: unknown; statusCode?: unknown; message?: unknown }
  if (Array.isArray(e?.validation)) {
    const first = e.validation[0] as { instancePath?: string; message?: string; params?: unknown } | undefined
    return new AuditedError('validation', `The request does not match its schema: ${String(e.message)}`, {
      details: { path: first?.instancePath ?? '', rule: first?.message ?? '' },
      cause: error,
    })
  }
  if (typeof e?.code === 'string' && FASTIFY_CLIENT_ERRORS.has(e.code)) {
    return new AuditedError('validation', 'The request body is malformed or too large.', { cause: error })
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AuditedError('validation', 'The request is malformed.', { cause: error })
  }
  return new AuditedError('internal', undefined, { cause: error })
}

/** Sends `{ error: { code, message, details?, requestId } }` with the catalogue status;
 * `Retry-After` on 429 / 503. A 500 carries no internals; it is logged with its cause. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = classifyHttpError(error)
  if (e.code === 'internal') request.log.error({ err: e.cause ?? e }, 'internal error')
  if (e.status === 429 || e.status === 503) reply.header('retry-after', String(e.retryAfterSeconds ?? 1))
  return reply.code(e.status).send({ error: { ...e.toJSON(), requestId: request.id } })
}
