/**
 * Purging expired login sessions, on every dialect: the function (batches, tenants, one
 * audited delete per session, concurrent purges), the CLI command, the server's timer and
 * the SESSION_PURGE_INTERVAL_MS setting.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type Auditor, createAuditor } from '../packages/audited/src/audit/auditor.js'
import type { AuditContext } from '../packages/audited/src/core/audit-context.js'
import { isAuditedError } from '../packages/audited/src/core/errors.js'
import { type AuditedDatabase, openDatabase } from '../packages/audited/src/db/open-database.js'
import { type Role, type TokenRow, tenants, tokens } from '../packages/cms/src/cms/entities.js'
import { hashToken, newToken } from '../packages/cms/src/cms/secrets.js'
import { purgeExpiredSessions, SESSION_EXPIRED_REASON } from '../packages/cms/src/cms/sessions.js'
import { loadConfig } from '../packages/cms/src/server/config.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { serve } from '../packages/cms/src/server/serve.js'
import { BOUNDED } from './child-support.js'
import { databaseUrlOf } from './database-url.js'
import { ADMIN, apiToken, forEachHttpDialect, type HttpFixture } from './http-setup.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))
const HOUR = 3600_000

const setupCtx = (tenantId: string): AuditContext => ({
  tenantId,
  actorId: 'test-setup',
  actorType: 'system',
})

/** A token row written as login or `token create` would, with the given kind and expiry. */
async function tokenRow(
  auditor: HttpFixture['auditor'],
  tenantId: string,
  kind: 'session' | 'api',
  expiresAt: Date | null,
): Promise<{ id: string; token: string }> {
  const { token, hash } = newToken()
  const now = new Date()
  const row: Partial<TokenRow> = {
    id: newRecordId(),
    user_id: kind === 'session' ? newRecordId() : null,
    name: kind === 'session' ? 'session' : 'test api token',
    role: 'admin' as Role,
    kind,
    platform_admin: false,
    token_hash: hash,
    expires_at: expiresAt,
    created_at: now,
    updated_at: now,
  }
  const stored = await auditor.create(tokens, row, setupCtx(tenantId))
  return { id: stored.id, token }
}

async function tokenIds(db: AuditedDatabase): Promise<Set<string>> {
  const rows = await db.readKysely.selectFrom('tokens').select('id').execute()
  return new Set(rows.map((r) => String(r.id)))
}

/** The DELETE events of `ids` in the tokens table, straight from change_events. */
async function deleteEvents(db: AuditedDatabase, ids: readonly string[]) {
  return db.readKysely
    .selectFrom('change_events')
    .select(['record_id', 'tenant_id', 'action', 'actor_id', 'actor_type', 'reason'])
    .where('table_name', '=', 'tokens')
    .where('operation', '=', 'DELETE')
    .where('record_id', 'in', ids)
    .execute()
}

async function eventTotal(db: AuditedDatabase): Promise<number> {
  const r = await db.readKysely
    .selectFrom('change_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

async function loginToken(f: HttpFixture): Promise<{ id: string; token: string }> {
  const res = await f.call('POST', '/api/v1/auth/login', { token: null, body: ADMIN })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  const row = await f.db.readKysely
    .selectFrom('tokens')
    .select('id')
    .where('token_hash', '=', hashToken(res.body.token))
    .executeTakeFirstOrThrow()
  return { id: String(row.id), token: res.body.token }
}

forEachHttpDialect('expired session purge', (f) => {
  let otherTenant = ''
  before(async () => {
    otherTenant = newRecordId()
    const now = new Date()
    await f.auditor.create(
      tenants,
      { id: otherTenant, name: 'second', limits: null, created_at: now, updated_at: now },
      setupCtx(otherTenant),
    )
  })

  it('deletes expired sessions of every tenant, one audited delete each; the rest stays', async () => {
    const [s1, s2, valid] = [await loginToken(f), await loginToken(f), await loginToken(f)]
    // Expire two real login sessions (an audited update, as any write here).
    for (const s of [s1, s2]) {
      await f.auditor.update(tokens, s.id, { expires_at: new Date(Date.now() - HOUR) }, setupCtx(f.tenantId))
    }
    const elsewhere = await tokenRow(f.auditor, otherTenant, 'session', new Date(Date.now() - 60_000))
    const future = await tokenRow(f.auditor, otherTenant, 'session', new Date(Date.now() + HOUR))
    const api = await apiToken(f, f.tenantId, 'auditor')
    const otherApi = await tokenRow(f.auditor, otherTenant, 'api', null)
    // Not a session: even with a past expiry (which no API token has today) it is not purged.
    const oddApi = await tokenRow(f.auditor, f.tenantId, 'api', new Date(Date.now() - HOUR))
    const expired = [s1.id, s2.id, elsewhere.id]

    const rejected = await f.call('GET', '/api/v1/roles', { token: s1.token })
    assert.equal(rejected.status, 401, 'an expired session is already rejected before the purge')
    const before = await tokenIds(f.db)
    const eventsBefore = await eventTotal(f.db)

    assert.equal(await purgeExpiredSessions(f.db, f.auditor, { batchSize: 2 }), 3)

    const now = await tokenIds(f.db)
    for (const id of expired) assert.ok(!now.has(id), `expired session ${id} is gone`)
    assert.deepEqual(now, new Set([...before].filter((id) => !expired.includes(id))))
    for (const id of [valid.id, future.id, otherApi.id, oddApi.id]) assert.ok(now.has(id), id)
    assert.equal(await eventTotal(f.db), eventsBefore + 3, 'one event per purged session, nothing else')
    const events = await deleteEvents(f.db, expired)
    assert.deepEqual(events.map((e) => String(e.record_id)).sort(), [...expired].sort())
    for (const e of events) {
      assert.equal(e.action, 'delete')
      assert.equal(e.actor_id, 'system')
      assert.equal(e.actor_type, 'system')
      assert.equal(e.reason, SESSION_EXPIRED_REASON)
      assert.equal(String(e.tenant_id), e.record_id === elsewhere.id ? otherTenant : f.tenantId)
    }
    // Through the API too: the history of a purged session ends in its delete, secret masked.
    const history = await f.call('GET', `/api/v1/audit/history/tokens/${s1.id}`)
    assert.equal(history.status, 200)
    const last = history.body.items.at(-1)
    assert.equal(last.operation, 'DELETE')
    assert.equal(last.actorType, 'system')
    assert.equal(last.newValues, null)
    assert.equal(last.oldValues.token_hash, '[redacted]')

    for (const gone of [s1, s2, elsewhere]) {
      const res = await f.call('GET', '/api/v1/roles', { token: gone.token })
      assert.equal(res.status, 401)
      assert.equal(res.body.error.code, 'unauthorized')
    }
    assert.equal((await f.call('GET', '/api/v1/roles', { token: valid.token })).status, 200)
    assert.equal((await f.call('GET', '/api/v1/audit/events', { token: api })).status, 200)

    assert.equal(await purgeExpiredSessions(f.db, f.auditor), 0, 'nothing left')
    assert.equal(await eventTotal(f.db), eventsBefore + 3)
    // `now` decides what counts as expired: an hour on, the one-hour sessions are due too.
    assert.equal(await purgeExpiredSessions(f.db, f.auditor, { now: new Date(Date.now() + 2 * HOUR) }), 1)
    assert.ok(!(await tokenIds(f.db)).has(future.id))
  })

  it('two purges at once delete each session exactly once', async () => {
    const made = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        tokenRow(f.auditor, i % 2 === 0 ? f.tenantId : otherTenant, 'session', new Date(Date.now() - 1000)),
      ),
    )
    const [a, b] = await Promise.all([
      purgeExpiredSessions(f.db, f.auditor, { batchSize: 5 }),
      purgeExpiredSessions(f.db, f.auditor, { batchSize: 5 }),
    ])
    assert.equal(a + b, 12)
    const events = await deleteEvents(
      f.db,
      made.map((m) => m.id),
    )
    assert.equal(events.length, 12)
    assert.equal(new Set(events.map((e) => e.record_id)).size, 12)
  })

  it('a session that goes away between the read and the delete is skipped, the rest purged', async () => {
    const [x, victim, y] = await Promise.all(
      [0, 1, 2].map(() => tokenRow(f.auditor, f.tenantId, 'session', new Date(Date.now() - 1000))),
    )
    let raced = false
    // Someone else (a user's revocation) deletes one session just before the purge's transaction.
    const racing: Auditor = {
      ...f.auditor,
      async transaction(ctx, fn) {
        if (!raced) {
          raced = true
          await f.auditor.delete(tokens, victim!.id, setupCtx(f.tenantId))
        }
        return f.auditor.transaction(ctx, fn)
      },
    }
    assert.equal(await purgeExpiredSessions(f.db, racing, { batchSize: 10 }), 2)
    assert.ok(raced)
    const ids = await tokenIds(f.db)
    for (const s of [x!, victim!, y!]) assert.ok(!ids.has(s.id))
    const events = await deleteEvents(f.db, [x!.id, victim!.id, y!.id])
    assert.equal(events.length, 3, 'one delete each: the rolled-back batch left no event')
    for (const e of events) assert.equal(e.actor_id, e.record_id === victim!.id ? 'test-setup' : 'system')
  })

  it('bad options are a validation error', async () => {
    await assert.rejects(purgeExpiredSessions(f.db, f.auditor, { batchSize: 0 }), (e) => {
      assert.ok(isAuditedError(e) && e.code === 'validation')
      return true
    })
  })

  it('CLI: `sessions purge` prints the count; --help and bad usage', async () => {
    const env = {
      ...process.env,
      DATABASE_URL: await databaseUrlOf(f.name, f.db),
      LOG_LEVEL: 'silent',
    }
    const cli = (...args: string[]) =>
      exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, ...args], {
        env,
        ...BOUNDED,
      })
    const a = await tokenRow(f.auditor, f.tenantId, 'session', new Date(Date.now() - 1000))
    const b = await tokenRow(f.auditor, otherTenant, 'session', new Date(Date.now() - 1000))
    const keep = await tokenRow(f.auditor, f.tenantId, 'session', new Date(Date.now() + HOUR))
    assert.equal((await cli('sessions', 'purge')).stdout, 'Purged 2 expired sessions.\n')
    const ids = await tokenIds(f.db)
    assert.ok(!ids.has(a.id) && !ids.has(b.id) && ids.has(keep.id))
    assert.equal((await deleteEvents(f.db, [a.id, b.id])).length, 2)
    assert.equal((await cli('sessions', 'purge')).stdout, 'Purged 0 expired sessions.\n')

    assert.match(
      (await cli('sessions', '--help')).stdout,
      /sessions purge — delete every expired login session/,
    )
    assert.match((await cli('--help')).stdout, /sessions purge/)
    await assert.rejects(cli('sessions', 'frob'), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2)
      assert.match(String(e.stderr), /audited sessions purge/)
      return true
    })
  })
})

for (const d of DIALECTS) {
  describe(`server purges expired sessions on its timer [${d.name}]`, { skip: d.skip }, () => {
    let drop: () => Promise<void>
    let url = ''
    before(async () => {
      const created = await d.create()
      drop = created.drop
      url = created.url
    })
    after(() => drop())

    it('SESSION_PURGE_INTERVAL_MS=1000: an expired session disappears within a few seconds; close stops it', async () => {
      const server = await serve(
        loadConfig({
          DATABASE_URL: url,
          PORT: '0',
          LOG_LEVEL: 'silent',
          ADMIN_EMAIL: ADMIN.email,
          ADMIN_PASSWORD: ADMIN.password,
          SESSION_PURGE_INTERVAL_MS: '1000',
          PERSONAL_DATA_KEY: process.env.PERSONAL_DATA_KEY,
        }),
      )
      const db = await openDatabase(url)
      try {
        const login = await fetch(`${server.url}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(ADMIN),
        })
        assert.equal(login.status, 200)
        const { token } = (await login.json()) as { token: string }
        const row = await db.readKysely
          .selectFrom('tokens')
          .select(['id', 'tenant_id'])
          .where('token_hash', '=', hashToken(token))
          .executeTakeFirstOrThrow()
        const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
        await auditor.update(
          tokens,
          String(row.id),
          { expires_at: new Date(Date.now() - 1000) },
          setupCtx(String(row.tenant_id)),
        )
        const deadline = Date.now() + 10_000
        while ((await tokenIds(db)).has(String(row.id))) {
          assert.ok(Date.now() < deadline, 'purged within 10 s')
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        const events = await deleteEvents(db, [String(row.id)])
        assert.equal(events.length, 1)
        assert.equal(events[0]!.reason, SESSION_EXPIRED_REASON)
        const res = await fetch(`${server.url}/api/v1/roles`, {
          headers: { authorization: `Bearer ${token}` },
        })
        assert.equal(res.status, 401)
      } finally {
        await db.close()
        await server.close()
      }
    })

    if (d.name === 'sqlite') {
      it('SESSION_PURGE_INTERVAL_MS=0: no purge runs', async () => {
        const server = await serve(
          loadConfig({
            DATABASE_URL: url,
            PORT: '0',
            LOG_LEVEL: 'silent',
            SESSION_PURGE_INTERVAL_MS: '0',
            PERSONAL_DATA_KEY: process.env.PERSONAL_DATA_KEY,
          }),
        )
        const db = await openDatabase(url)
        try {
          const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
          const tenant = await db.readKysely.selectFrom('tenants').select('id').executeTakeFirstOrThrow()
          const s = await tokenRow(auditor, String(tenant.id), 'session', new Date(Date.now() - 1000))
          await new Promise((resolve) => setTimeout(resolve, 1500))
          assert.ok((await tokenIds(db)).has(s.id), 'still there')
        } finally {
          await db.close()
          await server.close()
        }
      })
    }
  })
}

describe('SESSION_PURGE_INTERVAL_MS', () => {
  it('defaults to 10 minutes; 0 turns it off; a bad value is a clear validation error', () => {
    assert.equal(loadConfig({}).sessionPurgeIntervalMs, 600_000)
    assert.equal(loadConfig({ SESSION_PURGE_INTERVAL_MS: '' }).sessionPurgeIntervalMs, 600_000)
    assert.equal(loadConfig({ SESSION_PURGE_INTERVAL_MS: '0' }).sessionPurgeIntervalMs, 0)
    assert.equal(loadConfig({ SESSION_PURGE_INTERVAL_MS: '1000' }).sessionPurgeIntervalMs, 1000)
    for (const bad of ['abc', '10m', '1.5', '-1', '999', '2147483648', '1e12']) {
      assert.throws(
        () => loadConfig({ SESSION_PURGE_INTERVAL_MS: bad }),
        (e: unknown) => {
          assert.ok(isAuditedError(e) && e.code === 'validation', bad)
          assert.equal(
            e.message,
            'SESSION_PURGE_INTERVAL_MS must be 0 (off) or an integer from 1000 to 2147483647 (milliseconds).',
          )
          return true
        },
        bad,
      )
    }
  })

  it('the CLI refuses a bad value with exit code 2 and the message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audited-sessions-'))
    try {
      const env = {
        ...process.env,
        DATABASE_URL: `sqlite:${join(dir, 'x.db')}`,
        SESSION_PURGE_INTERVAL_MS: 'soon',
      }
      await assert.rejects(
        exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, 'sessions', 'purge'], {
          env,
          ...BOUNDED,
        }),
        (e: { code?: number; stderr?: string }) => {
          assert.equal(e.code, 2)
          assert.match(
            String(e.stderr),
            /SESSION_PURGE_INTERVAL_MS must be 0 \(off\) or an integer from 1000/,
          )
          return true
        },
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
