import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'

type Factory = ReturnType<typeof SerializerSelector>

/**
 * Fastify's own response serializer (fast-json-stringify), compiled once per distinct
 * schema instead of once per route and status. Every route answers the same error envelope
 * for up to ten statuses and many share a resource schema: compiling each copy made the
 * server's start several times slower. A schema's `description` (documentation only) does not
 * change the code, so it is not part of the key.
 */
export function sharedSerializers(): Factory {
  const build = SerializerSelector()
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options)
    const compiled = new Map<string, ReturnType<typeof compile>>()
    return (route) => {
      const { description: _, ...code } = (route.schema ?? {}) as Record<string, unknown>
      const key = JSON.stringify(code)
      let serializer = compiled.get(key)
      if (serializer === undefined) {
        serializer = compile(route)
        compiled.set(key, serializer)
      }
      return serializer
    }
  }
}
