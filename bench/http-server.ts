/**
 * The server side of `npm run bench:http`: the CMS exactly as `npm start` runs it
 * (`serve()`: migrations, bootstrap, limiter hook, metrics hook, default pool), plus a bare
 * Fastify instance on its own port whose one route inserts the same entry row through
 * `db.kysely` without audit — the baseline.
 *
 * Run as a child process (`fork` with `--import tsx`) it reports its URLs over IPC and
 * stops on the message "stop"; `startBenchServer` runs it in the calling process instead.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { serve } from '../packages/cms/src/server/serve.js'

export const BENCH_ADMIN = { email: 'bench@example.test', password: 'bench password, not secret' }

/** What `npm start` would use, except the log level (see `LOG_LEVEL` below). */
export const SERVER_SETTINGS = {
  poolMax: 10,
  acquireTimeoutMs: 2000,
  logLevel: 'warn',
} as const

export interface BenchServer {
  /** The CMS API, e.g. http://127.0.0.1:41234 */
  readonly url: string
  /** The bare Fastify instance with `POST /bare/entries/:type`. */
  readonly bareUrl: string
  close(): Promise<void>
}

export interface ServerMessage {
  readonly url: string
  readonly bareUrl: string
}

const LOCALE = '^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,2}$'

/** The same body shape as `POST /api/v1/entries/:type`, validated by Fastify's Ajv. */
const BareBody = Type.Object(
  {
    data: Type.Record(Type.String(), Type.Unknown()),
    locale: Type.Optional(Type.String({ pattern: LOCALE, maxLength: 16 })),
    status: Type.Optional(
      Type.Union([Type.Literal('draft'), Type.Literal('published'), Type.Literal('archived')]),
    ),
  },
  { additionalProperties: false },
)
const BareParams = Type.Object({ type: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }) })

interface BareRequest {
  Params: { type: string }
  Body: { data: Record<string, unknown>; locale?: string; status?: 'draft' | 'published' | 'archived' }
}

/** The baseline: parse and validate the JSON body, one plain INSERT of the entry row, 201. */
async function startBare(databaseUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const db = await openDatabase(databaseUrl, {
    pool: { max: SERVER_SETTINGS.poolMax, acquireTimeoutMs: SERVER_SETTINGS.acquireTimeoutMs },
  })
  // serve() has bootstrapped the tenant by now; the bare rows belong to it too.
  const tenant = await db.readKysely.selectFrom('tenants').select('id').executeTakeFirstOrThrow()
  const tenantId = String(tenant.id)
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
  app.post<BareRequest>(
    '/bare/entries/:type',
    { schema: { params: BareParams, body: BareBody } },
    async (request, reply) => {
      const now = new Date().toISOString()
      const row = {
        id: newRecordId(),
        tenant_id: tenantId,
        type: request.params.type,
        locale: request.body.locale ?? 'en',
        status: request.body.status ?? 'draft',
        data: JSON.stringify(request.body.data),
        version: 1,
        created_at: now,
        updated_at: now,
      }
      await db.kysely.insertInto('entries').values(row).execute()
      return reply.code(201).send({ ...row, data: request.body.data })
    },
  )
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    url,
    close: async () => {
      await app.close()
      await db.close()
    },
  }
}

/** Starts the CMS (`serve()`) and the bare baseline over one database. */
export async function startBenchServer(databaseUrl: string): Promise<BenchServer> {
  const cms = await serve({
    host: '127.0.0.1',
    port: 0,
    databaseUrl,
    nodeId: `bench-${process.pid}`,
    logLevel: SERVER_SETTINGS.logLevel,
    trustProxy: false,
    poolMax: SERVER_SETTINGS.poolMax,
    acquireTimeoutMs: SERVER_SETTINGS.acquireTimeoutMs,
    redisUrl: undefined,
    adminEmail: BENCH_ADMIN.email,
    adminPassword: BENCH_ADMIN.password,
  })
  const bare = await startBare(databaseUrl)
  return {
    url: cms.url,
    bareUrl: bare.url,
    close: async () => {
      await bare.close()
      await cms.close()
    },
  }
}

/** Child-process entry: DATABASE_URL from the environment, URLs back over IPC. */
async function runAsChild(): Promise<void> {
  const send = process.send?.bind(process)
  const databaseUrl = process.env.DATABASE_URL
  if (send === undefined || databaseUrl === undefined) {
    throw new Error('bench/http-server.ts runs as a forked child with DATABASE_URL set')
  }
  const server = await startBenchServer(databaseUrl)
  process.on('message', (message) => {
    if (message !== 'stop') return
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
  const ready: ServerMessage = { url: server.url, bareUrl: server.bareUrl }
  send(ready)
}

if (process.argv[1]?.endsWith('http-server.ts') === true) {
  runAsChild().catch((e: unknown) => {
    process.stderr.write(`bench server failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exit(1)
  })
}
