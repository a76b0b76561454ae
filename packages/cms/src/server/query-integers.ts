import type { FastifyRequest } from 'fastify'

const DIGITS = /^[0-9]{1,15}$/

/**
 * Query strings are text, and the app's validator does not coerce types (so that JSON
 * bodies stay strictly typed): before validation, a query parameter that the route's schema
 * declares `integer` is converted from decimal digits to a number. Anything else stays text
 * and fails the integer schema (400), so `?limit=5` passes and `?limit=x` does not.
 */
export async function queryIntegers(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema?.querystring as
    | { properties?: Record<string, { type?: unknown }> }
    | undefined
  const properties = schema?.properties
  const query = request.query as Record<string, unknown> | null
  if (properties === undefined || query === null || typeof query !== 'object') return
  for (const [key, property] of Object.entries(properties)) {
    const value = query[key]
    if (property.type === 'integer' && typeof value === 'string' && DIGITS.test(value))
      query[key] = Number(value)
  }
}
