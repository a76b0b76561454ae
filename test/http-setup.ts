/**
 * HTTP fixture: the CMS app over a fresh database per dialect, migrated and bootstrapped,
 * with a logged-in platform admin. Requests go through `app.inject()`.
 */
import { after, before, describe } from 'node:test'
import type { Auditor } from '../packages/audited/src/audit/auditor.js'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import type { DialectName } from '../packages/audited/src/db/dialect.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import {
  type AuditedDatabase,
  type OpenDatabaseOptions,
  openDatabase,
} from '../packages/audited/src/db/open-database.js'
import {
  generateSigningKey,
  type NoteSigner,
  type SealedCheckpoint,
  type Sealer,
  signerFromKey,
  startSealer,
} from '../packages/audited/src/index.js'
import { bootstrap } from '../packages/cms/src/cms/bootstrap.js'
import { type Role, tokens } from '../packages/cms/src/cms/entities.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { newApiToken } from '../packages/cms/src/cms/secrets.js'
import { type App, buildApp } from '../packages/cms/src/server/app.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import type { DispatcherOptions } from '../packages/cms/src/webhooks/dispatcher.js'
import { WebhookRuntime } from '../packages/cms/src/webhooks/runtime.js'
import { STANDARD_SCHEDULE_MS } from '../packages/cms/src/webhooks/schedule.js'
import { parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

export const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' }

export interface HttpFixture {
  readonly name: DialectName
  /** The database's URL. */
  url: string
  app: App
  db: AuditedDatabase
  auditor: Auditor
  /** Webhook delivery, started, when the suite asked for it (`options.webhooks`). */
  webhooks: WebhookRuntime | undefined
  tenantId: string
  /** The sealer and its key, when the suite asked for it (`options.sealer`). */
  integrity: { sealer: Sealer; signer: NoteSigner; published: SealedCheckpoint[] } | undefined
  /** The platform admin's bearer token. */
  adminToken: string
  /** `app.inject` with JSON and an optional bearer token. */
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are asserted field by field.
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>
}

export function forEachHttpDialect(
  title: string,
  body: (f: HttpFixture) => void,
  options: {
    db?: OpenDatabaseOptions
    auditorTimeoutMs?: number
    /** Delivery settings: the app gets a runtime with them, started. */
    webhooks?: Partial<DispatcherOptions>
    /** A sealer runs (every 5 events or 100 ms a checkpoint), its key published by the app. */
    sealer?: boolean
  } = {},
): void {
  for (const d of DIALECTS) {
    describe(`${title} [${d.name}]`, { skip: d.skip }, () => {
      const f = { name: d.name } as HttpFixture
      let drop: (() => Promise<void>) | undefined
      before(async () => {
        const created = await d.create()
        drop = created.drop
        f.url = created.url
        f.db = await openDatabase(created.url, options.db)
        await migrate(f.db, CMS_MIGRATIONS)
        f.auditor = createAuditor({
          personalData: PERSONAL_DATA,
          db: f.db,
          ...(options.auditorTimeoutMs === undefined ? {} : { timeoutMs: options.auditorTimeoutMs }),
        })
        const boot = await bootstrap(f.db, f.auditor, ADMIN)
        f.tenantId = boot!.tenantId
        f.webhooks =
          options.webhooks === undefined
            ? undefined
            : new WebhookRuntime(f.db, f.auditor, {
                policy: parseAllowHosts(undefined),
                schedule: STANDARD_SCHEDULE_MS,
                ...options.webhooks,
              })
        f.webhooks?.start()
        if (options.sealer === true) {
          const signer = signerFromKey(generateSigningKey('audited.test'))
          const published: SealedCheckpoint[] = []
          const sealer = startSealer({
            db: f.db,
            auditor: f.auditor,
            signer,
            checkpointEvents: 5,
            checkpointMs: 100,
            onCheckpoint: (c) => {
              published.push(c)
            },
          })
          f.integrity = { sealer, signer, published }
        }
        f.app = buildApp({
          db: f.db,
          auditor: f.auditor,
          ...(f.webhooks ? { webhooks: f.webhooks } : {}),
          ...(f.integrity ? { checkpointKey: f.integrity.signer.verifierKey } : {}),
        })
        await f.app.ready()
        f.call = async (method, url, options = {}) => {
          const token = options.token === undefined ? f.adminToken : options.token
          const res = await f.app.inject({
            method,
            url,
            headers: {
              ...(token === null ? {} : { authorization: `Bearer ${token}` }),
              ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
              ...options.headers,
            },
            ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
          })
          let parsed: unknown = res.body
          try {
            parsed = res.body === '' ? undefined : JSON.parse(res.body)
          } catch {
            // not JSON (e.g. CSV export): keep the text
          }
          return { status: res.statusCode, body: parsed, headers: res.headers }
        }
        const login = await f.call('POST', '/api/v1/auth/login', { token: null, body: ADMIN })
        f.adminToken = login.body.token
      })
      after(async () => {
        await f.webhooks?.stop()
        await f.integrity?.sealer.stop()
        await f.auditor?.close()
        await f.app?.close()
        await f.db?.close()
        await drop?.()
      })
      body(f)
    })
  }
}

/** An API token of `role` in `tenantId`, created through the auditor (as the CLI does). */
export async function apiToken(f: HttpFixture, tenantId: string, role: Role): Promise<string> {
  const { token, row } = newApiToken(newRecordId(), role, `test ${role}`)
  await f.auditor.create(tokens, row, { tenantId, actorId: 'test-setup', actorType: 'system' })
  return token
}
