import { createRequire } from 'node:module'
import type { Redis, RedisOptions } from 'ioredis'

const require = createRequire(import.meta.url)

/**
 * A Redis client, loading ioredis only when one is first made: a server without REDIS_URL
 * never pays for the import (a tenth of the cold start).
 */
export function newRedis(url: string, options: RedisOptions = {}): Redis {
  const { Redis: Client } = require('ioredis') as typeof import('ioredis')
  return new Client(url, options)
}
