import { STATUS_CODES } from 'node:http'
import { AuditedError, ERROR_CODES, isAuditedError } from 'audited'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { loggedError } from './log-lines.js'

/** Fastify's own client errors (body parsing, content type, size) by code. */
const FASTIFY_CLIENT_ERRORS = new Set([
  'FST_ERR_CTP_INVALID_JSON_BODY',
  'FST_ERR_CTP_EMPTY_JSON_BODY',
  'FST_ERR_CTP_INVALID_MEDIA_TYPE',
  'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
  'FST_ERR_CTP_EMPTY_TYPE',
  'FST_ERR_CTP_INVALID_TYPE',
])

/**
 * `details.reason` of a body over the limit. Transport-level refusals keep the code
 * `validation` (a client's request is wrong either way); their reason carries the status
 * HTTP has for them — 413, 408, 431 — in the catalogue, and so in `AuditedError.status`.
 */
export const BODY_TOO_LARGE = 'body_too_large'

/** The HTTP status: the catalogue's for the code, or for the reason when it has its own. */
export function httpStatus(e: AuditedError): number {
  return e.status
}

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
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e?.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) {
      return new AuditedError('validation', 'The request body is larger than the limit.', {
        details: { reason: BODY_TOO_LARGE },
        cause: error,
      })
    }
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
 * `Retry-After` on 429 / 503 and on any error that says when to retry (a 404 `not_sealed`).
 * A 500 carries no internals; it is logged with its cause. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = classifyHttpError(error)
  if (e.code === 'internal') request.log.error({ err: loggedError(e.cause ?? e) }, 'internal error')
  if (e.status === 429 || e.status === 503 || e.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(e.retryAfterSeconds ?? 1))
  if (e.details?.reason === BODY_TOO_LARGE) reply.header('connection', 'close')
  return reply.code(httpStatus(e)).send({ error: { ...e.toJSON(), requestId: request.id } })
}

/** How much of an over-limit body is read (and dropped) before answering 413. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
const DRAIN_LIMIT_MS = 10_000

/**
 * A client still sending an over-limit body would see its connection reset if we
 * answered and closed at once: read the rest (up to 16 MiB / 10 s), dropping it, first.
 * Beyond that the connection is closed anyway.
 */
export function drainRequest(raw: FastifyRequest['raw']): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    let bytes = 0
    const done = () => {
      clearTimeout(timer)
      raw.off('data', onData)
      resolve()
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes > DRAIN_LIMIT_BYTES) done()
    }
    const timer = setTimeout(done, DRAIN_LIMIT_MS)
    raw.on('data', onData)
    raw.once('end', done)
    raw.once('close', done)
    raw.once('error', done)
    raw.resume()
  })
}

/**
 * Node's own answers to a request it cannot parse (malformed request line, headers too
 * large, a request not received in time), in the catalogue envelope. Written to the
 * socket directly: no request object exists yet.
 */
export function clientErrorResponse(error: { code?: unknown }, requestId: string): string {
  const reason =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 'headers_too_large'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request_timeout'
        : 'malformed_request'
  const e = new AuditedError('validation', ERROR_CODES.validation.reasons[reason].meaning, {
    details: { reason },
  })
  const status = e.status
  const body = JSON.stringify({ error: { ...e.toJSON(), requestId } })
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`
  )
}
