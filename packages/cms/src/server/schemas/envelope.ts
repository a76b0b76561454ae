/**
 * The shapes every route shares: the error envelope, the list envelope, references to the
 * named schemas (src/server/schemas/records.ts), and the `Location` header of a 201.
 * Fastify serializes each answer from its schema (fields a schema does not name are
 * dropped), and @fastify/swagger documents the same schemas in `/openapi.json`.
 */

import { ERROR_CODES } from 'audited'
import { type TSchema, Type } from 'typebox'

/**
 * A named schema (registered with `app.addSchema`, shown as `#/components/schemas/<name>`).
 * Typed `unknown` for the handlers: the contract is checked against the generated client
 * (test/http-openapi-client.test.ts), not against TypeBox's static types of each handler.
 */
export const ref = (name: string) => Type.Unsafe<unknown>({ $ref: `${name}#` })

/** `{ error: { code, message, details?, requestId } }`; `details` is open (reason, field, …). */
export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.Union(Object.keys(ERROR_CODES).map((c) => Type.Literal(c))),
        message: Type.String(),
        details: Type.Optional(Type.Object({}, { additionalProperties: true })),
        requestId: Type.String(),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'ErrorEnvelope', additionalProperties: false },
)

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'validation: the request does not match its schema or the rules',
  401: 'unauthorized: no valid bearer token (or wrong credentials)',
  403: 'forbidden: the caller’s role does not allow this',
  404: 'not_found: no such record in the caller’s tenant',
  409: 'conflict: a stale version, a duplicate, or a referenced record (see details.reason)',
  413: 'validation: the body is over the limit (details.reason: body_too_large)',
  422: 'rejected: the write breaks a rule of the resource',
  429: 'rate_limited: too many requests (Retry-After)',
  500: 'internal: an unexpected error (no internals are shown)',
  503: 'unavailable: the database is failing, busy or the server is shutting down (Retry-After)',
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429

/** The error answers of a route: the given statuses plus 400, 500 and 503, which every
 * route can answer (a malformed URL; an unexpected error; a failing database or shutdown). */
export function errors(...statuses: ErrorStatus[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {}
  for (const status of [...new Set<number>([400, ...statuses, 500, 503])].sort((a, b) => a - b)) {
    out[status] = Type.Unsafe<unknown>({ $ref: 'ErrorEnvelope#', description: ERROR_DESCRIPTIONS[status] })
  }
  return out
}

/** The statuses of a route that needs a bearer token (and of one that needs a role). */
export const AUTHENTICATED: ErrorStatus[] = [401]
export const AUTHORIZED: ErrorStatus[] = [401, 403]

/**
 * Every list: `{ items, nextCursor, hasMore }`. Continue with `?after=<nextCursor>` while
 * `hasMore`. On record lists `nextCursor` is null at the end; on event lists it stays the
 * position of the last event read, to poll for newer events later.
 */
export function Page(item: string) {
  return Type.Object(
    {
      items: Type.Array(ref(item)),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
      hasMore: Type.Boolean(),
    },
    { $id: `${item}Page`, additionalProperties: false },
  )
}

/** A 201 answer: the created record and its URL in `Location`. */
export function created(name: string): TSchema {
  return Type.Unsafe<unknown>({
    description: `Created; Location is the ${name}'s URL`,
    allOf: [{ $ref: `${name}#` }],
    headers: { Location: { type: 'string', description: 'URL of the created resource' } },
  })
}

/** A 204 answer. */
export const NoContent = Type.Unsafe<unknown>({ type: 'null', description: 'Done; no body' })

/** On a route whose body may be left out (publish, unpublish): so `/openapi.json` says so. */
export const OPTIONAL_BODY = { 'x-optional-body': true } as const

/** @fastify/swagger marks every body as required; this unmarks the routes flagged `OPTIONAL_BODY`. */
export function optionalBodies<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, Record<string, unknown>>> }).paths ?? {}
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      if (operation?.['x-optional-body'] !== true) continue
      delete operation['x-optional-body']
      const body = operation.requestBody as { required?: boolean } | undefined
      if (body !== undefined) body.required = false
    }
  }
  return document
}
