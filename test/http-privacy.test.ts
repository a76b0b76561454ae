/**
 * Personal data in the CMS, on every dialect: a user's e-mail and name and the content
 * fields flagged `personal` are encrypted in events and shown decrypted; an admin exports
 * a subject (access request) and erases it over HTTP: the user can no longer log in, its
 * sessions are gone, the entries whose subject it is lose their personal fields, history
 * reads "[erased]", no plaintext of the subject's values is left in the database (the
 * SQLite file and its WAL scanned byte by byte; every PostgreSQL / MariaDB table dumped),
 * and `audited verify` (the CLI) is still clean. Then `audited erase` (the CLI): a user, a
 * content subject, and its usage and configuration errors.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, it } from 'node:test'
import { promisify } from 'node:util'
import { ERASED } from '../packages/audited/src/index.js'
import { ERASED_PASSWORD_HASH } from '../packages/cms/src/cms/subject-operations.js'
import { BOUNDED } from './child-support.js'
import { apiToken, forEachHttpDialect } from './http-setup.js'
import { assertNoPlaintext } from './privacy-scan.js'
import { sealAll } from './seal-all.js'
import { newId } from './setup.js'

const exec = promisify(execFile)
const CLI = join(import.meta.dirname, '..', 'packages', 'cms', 'dist', 'cli', 'main.js')

forEachHttpDialect(
  'http personal data and erasure',
  (f) => {
    const mark = newId().toLowerCase()
    const user = { email: `u-${mark}@example.test`, name: `Nm${mark}`, password: 'a password of the user' }
    const secrets = {
      email: `c-${mark}@mail.test`,
      phone: `+44${mark.slice(0, 10)}`,
      phone2: `+33${mark.slice(10, 20)}`,
    }
    let userId = ''
    let session = ''
    let entryId = ''
    let otherEntryId = ''
    let editor = ''
    let viewer = ''

    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      exec(process.execPath, [CLI, ...args], {
        env: { ...process.env, DATABASE_URL: f.url, LOG_LEVEL: 'silent', ...env },
        ...BOUNDED,
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      )

    before(async () => {
      editor = await apiToken(f, f.tenantId, 'editor')
      viewer = await apiToken(f, f.tenantId, 'viewer')
      const type = await f.call('POST', '/api/v1/content-types', {
        body: {
          key: 'customer',
          name: 'Customer',
          fields: [
            { name: 'account', type: 'string', subject: true },
            { name: 'email', type: 'string', personal: true, required: true },
            { name: 'phone', type: 'string', personal: true },
            { name: 'plan', type: 'string' },
          ],
        },
      })
      assert.equal(type.status, 201, JSON.stringify(type.body))
      const created = await f.call('POST', '/api/v1/users', { body: { ...user, role: 'editor' } })
      assert.equal(created.status, 201, JSON.stringify(created.body))
      userId = created.body.id
      const login = await f.call('POST', '/api/v1/auth/login', {
        token: null,
        body: { email: user.email, password: user.password },
      })
      assert.equal(login.status, 200)
      session = login.body.token
      const entry = await f.call('POST', '/api/v1/entries/customer', {
        body: { data: { account: userId, email: secrets.email, phone: secrets.phone, plan: 'pro' } },
      })
      assert.equal(entry.status, 201, JSON.stringify(entry.body))
      entryId = entry.body.id
      const patched = await f.call('PATCH', `/api/v1/entries/customer/${entryId}`, {
        body: { data: { phone: secrets.phone2 } },
      })
      assert.equal(patched.status, 200, JSON.stringify(patched.body))
      const other = await f.call('POST', '/api/v1/entries/customer', {
        body: { data: { account: 'someone-else', email: 'kept@mail.test', plan: 'free' } },
      })
      otherEntryId = other.body.id
    })

    it('content types keep the personal and subject flags, and refuse what they cannot do', async () => {
      const type = await f.call('GET', '/api/v1/content-types/customer')
      assert.deepEqual(
        type.body.fields.map((x: { name: string; personal?: boolean; subject?: boolean }) => [
          x.name,
          x.personal ?? false,
          x.subject ?? false,
        ]),
        [
          ['account', false, true],
          ['email', true, false],
          ['phone', true, false],
          ['plan', false, false],
        ],
      )
      const bad = [
        [
          { name: 'a', type: 'string', subject: true },
          { name: 'b', type: 'string', subject: true },
        ],
        [{ name: 'a', type: 'string', personal: true, unique: true }],
        [{ name: 'a', type: 'string', personal: true, subject: true }],
        [{ name: 'a', type: 'integer', subject: true }],
      ]
      for (const fields of bad) {
        const res = await f.call('POST', '/api/v1/content-types', {
          body: { key: 'bad', name: 'Bad', fields },
        })
        assert.equal(res.status, 400, JSON.stringify(res.body))
        assert.equal(res.body.error.code, 'validation')
      }
    })

    it('stores personal values encrypted, shows them decrypted', async () => {
      const stored = JSON.stringify(await f.db.kysely.selectFrom('change_events').selectAll().execute())
      for (const secret of [user.email, user.name, secrets.email, secrets.phone])
        assert.ok(!stored.includes(secret), `${secret} in change_events`)
      const history = await f.call('GET', `/api/v1/audit/history/entries/${entryId}`)
      assert.equal(history.status, 200)
      assert.equal(history.body.items[0].newValues.data.email, secrets.email)
      assert.equal(history.body.items[1].newValues.data.phone, secrets.phone2)
      assert.equal(history.body.items[1].oldValues.data.plan, 'pro')
      const users = await f.call('GET', `/api/v1/audit/history/users/${userId}`)
      assert.equal(users.body.items[0].newValues.email, user.email)
    })

    it('GET /subjects/:id/export: every event about the subject, decrypted', async () => {
      await sealAll(f.integrity!.sealer, f.db, f.tenantId) // the export reads the feed
      const res = await f.call('GET', `/api/v1/subjects/${userId}/export`)
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.equal(res.body.subjectId, userId)
      const seen = res.body.events.map((e: { table: string; action: string }) => `${e.table}:${e.action}`)
      assert.deepEqual(seen, ['users:create', 'entries:create', 'entries:update'])
      assert.equal(res.body.count, 3)
      const text = JSON.stringify(res.body)
      for (const secret of Object.values(secrets).concat(user.email, user.name))
        assert.ok(text.includes(secret))
      assert.ok(!text.includes('kept@mail.test'), "another subject's entry is not in it")
    })

    it('the routes are for admins only, and refuse bad ids', async () => {
      for (const token of [editor, viewer, session]) {
        for (const [method, url] of [
          ['POST', `/api/v1/subjects/${userId}/erase`],
          ['GET', `/api/v1/subjects/${userId}/export`],
        ] as const) {
          const res = await f.call(method, url, { token })
          assert.equal(res.status, 403, `${method} ${url}: ${JSON.stringify(res.body)}`)
        }
      }
      assert.equal((await f.call('GET', `/api/v1/subjects/${userId}/export`, { token: null })).status, 401)
      for (const id of ['-lead', 'sp%20ace', 'x'.repeat(256), 'semi%3Bcolon']) {
        const res = await f.call('POST', `/api/v1/subjects/${id}/erase`)
        assert.equal(res.status, 400, `${id}: ${JSON.stringify(res.body)}`)
        assert.equal(res.body.error.code, 'validation')
      }
      for (const [method, url] of [
        ['POST', '/api/v1/subjects/nobody-known/erase'],
        ['GET', '/api/v1/subjects/nobody-known/export'],
      ] as const) {
        const res = await f.call(method, url)
        assert.equal(res.status, 404, JSON.stringify(res.body))
        assert.equal(res.body.error.code, 'not_found')
      }
      const self = await f.call('GET', '/api/v1/me')
      const me = await f.call('POST', `/api/v1/subjects/${self.body.userId}/erase`)
      assert.equal(me.status, 409, JSON.stringify(me.body))
      assert.equal(me.body.error.details.reason, 'self')
    })

    it('POST /subjects/:id/erase: account blanked, sessions gone, personal fields removed, history "[erased]"', async () => {
      const res = await f.call('POST', `/api/v1/subjects/${userId}/erase`)
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.deepEqual(res.body, { subjectId: userId, users: 1, entries: 1, sessions: 1, keys: 1 })
      assert.equal(
        (await f.call('GET', '/api/v1/me', { token: session })).status,
        401,
        'the session is revoked',
      )
      const login = await f.call('POST', '/api/v1/auth/login', {
        token: null,
        body: { email: user.email, password: user.password },
      })
      assert.equal(login.status, 401, 'the e-mail no longer logs in')
      const account = await f.call('GET', `/api/v1/users/${userId}`)
      assert.equal(account.body.email, `erased-${userId.toLowerCase()}@erased.invalid`)
      assert.equal(account.body.name, null)
      const row = await f.db.kysely
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', userId)
        .executeTakeFirst()
      assert.equal(row?.password_hash, ERASED_PASSWORD_HASH)
      const entry = await f.call('GET', `/api/v1/entries/customer/${entryId}`)
      assert.deepEqual(entry.body.data, { account: userId, plan: 'pro' })
      const other = await f.call('GET', `/api/v1/entries/customer/${otherEntryId}`)
      assert.equal(other.body.data.email, 'kept@mail.test', "another subject's entry is untouched")

      const history = (await f.call('GET', `/api/v1/audit/history/entries/${entryId}`)).body.items
      assert.equal(history.at(-1).action, 'erase')
      assert.equal(history[0].newValues.data.email, ERASED)
      assert.equal(history[1].oldValues.data.phone, ERASED)
      assert.equal(history[1].newValues.data.plan, 'pro', 'other fields stay readable')
      const userHistory = (await f.call('GET', `/api/v1/audit/history/users/${userId}`)).body.items
      assert.equal(userHistory[0].newValues.email, ERASED)
      const stored = await f.call('GET', `/api/v1/audit/events/${userHistory[0].eventId}?stored=true`)
      assert.match(stored.body.newValues.email, /^enc:v1:/, 'stored=true: the ciphertext the leaf hashes')
      assert.equal(userHistory.at(-1).action, 'erase')

      const restore = await f.call('POST', `/api/v1/audit/restore/entries/${entryId}`, {
        body: { eventId: history[0].eventId },
      })
      assert.equal(restore.status, 409, JSON.stringify(restore.body))
      assert.equal(restore.body.error.details.reason, 'erased')
      const restoreUser = await f.call('POST', `/api/v1/audit/restore/users/${userId}`, {
        body: { eventId: userHistory[0].eventId },
      })
      assert.equal(restoreUser.status, 409, JSON.stringify(restoreUser.body))

      const exported = await f.call('GET', `/api/v1/subjects/${userId}/export`)
      assert.deepEqual([exported.status, exported.body.count], [200, 0], 'nothing left to identify')
      const again = await f.call('POST', `/api/v1/subjects/${userId}/erase`)
      assert.deepEqual(
        again.body,
        { subjectId: userId, users: 0, entries: 0, sessions: 0, keys: 0 },
        'idempotent',
      )
    })

    it('after the erase no plaintext is left in the database, and `audited verify` is clean', async () => {
      await sealAll(f.integrity!.sealer, f.db, f.tenantId)
      await assertNoPlaintext(f, [user.email, user.name, ...Object.values(secrets)])
      // The scan does see plaintext that is there: another subject's value, in its row.
      await assert.rejects(assertNoPlaintext(f, ['kept@mail.test']))
      const verify = await cli(['verify', '--tenant', f.tenantId, '--key', f.integrity!.signer.verifierKey])
      assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    })

    it('audited erase --subject ID [--tenant T]: a user, a content subject, usage errors', async () => {
      const other = { email: `v-${mark}@example.test`, name: `Vn${mark}`, password: 'another password' }
      const created = await f.call('POST', '/api/v1/users', { body: { ...other, role: 'viewer' } })
      const customer = `cust-${mark}`
      const entry = await f.call('POST', '/api/v1/entries/customer', {
        body: { data: { account: customer, email: `k-${mark}@mail.test`, plan: 'basic' } },
      })
      assert.equal(entry.status, 201)

      const byUser = await cli(['erase', '--subject', created.body.id])
      assert.equal(byUser.code, 0, byUser.stderr)
      assert.deepEqual(JSON.parse(byUser.stdout), {
        tenantId: f.tenantId,
        subjectId: created.body.id,
        users: 1,
        entries: 0,
        sessions: 0,
        keys: 1,
      })
      const noTenant = await cli(['erase', '--subject', customer])
      assert.equal(noTenant.code, 2)
      assert.match(noTenant.stderr, /--tenant is required/)
      const byContent = await cli(['erase', '--subject', customer, '--tenant', f.tenantId])
      assert.equal(byContent.code, 0, byContent.stderr)
      assert.equal(JSON.parse(byContent.stdout).entries, 1)
      const row = await f.db.kysely
        .selectFrom('entries')
        .select('data')
        .where('id', '=', entry.body.id)
        .executeTakeFirst()
      const data = typeof row!.data === 'string' ? JSON.parse(row!.data) : row!.data
      assert.deepEqual(data, { account: customer, plan: 'basic' })

      const unknown = await cli(['erase', '--subject', 'nobody-known', '--tenant', f.tenantId])
      assert.equal(unknown.code, 1)
      assert.match(unknown.stderr, /Nothing is stored about this subject/)
      const missing = await cli(['erase'])
      assert.equal(missing.code, 2)
      assert.match(missing.stderr, /--subject is required/)
      const bad = await cli(['erase', '--subject', 'bad id!'])
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /--subject: A subject id/)
      const noKey = await cli(['erase', '--subject', created.body.id], {
        PERSONAL_DATA_KEY: '',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'audited-nokey-')),
      })
      assert.equal(noKey.code, 2)
      assert.match(noKey.stderr, /No personal-data master key/)

      await sealAll(f.integrity!.sealer, f.db, f.tenantId)
      await assertNoPlaintext(f, [other.email, other.name, `k-${mark}@mail.test`])
      const verify = await cli(['verify', '--tenant', f.tenantId, '--key', f.integrity!.signer.verifierKey])
      assert.equal(verify.code, 0, verify.stdout + verify.stderr)
    })
  },
  { sealer: true },
)
