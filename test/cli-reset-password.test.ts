/**
 * Issue 8 item 6: `audited admin reset-password` — the way back in for an operator who lost
 * the admin password. It goes through the user rules: the new password works, the old one
 * and every login session of the user stop working, and the change is an audited event.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { BOUNDED } from './child-support.js'
import { databaseUrlOf } from './database-url.js'
import { ADMIN, forEachHttpDialect } from './http-setup.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))

forEachHttpDialect('CLI admin reset-password', (f) => {
  it('sets a generated password once, revokes the sessions, is audited; --password-stdin; clear errors', async () => {
    const env = { ...process.env, DATABASE_URL: await databaseUrlOf(f.name, f.db) }
    const cli = (args: string[], input?: string) => {
      const child = exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, ...args], {
        env,
        ...BOUNDED,
      })
      if (input !== undefined) child.child.stdin!.end(input)
      return child
    }
    const login = (password: string) =>
      f.call('POST', '/api/v1/auth/login', { token: null, body: { email: ADMIN.email, password } })
    const session = await login(ADMIN.password)
    assert.equal(session.status, 200)

    const { stdout } = await cli(['admin', 'reset-password', '--email', ADMIN.email.toUpperCase()])
    const generated = /New password \(shown once\): (\S+)/.exec(stdout)
    assert.ok(generated, stdout)
    assert.match(stdout, /its login sessions were revoked/)
    assert.equal((await f.call('GET', '/api/v1/content-types', { token: session.body.token })).status, 401)
    assert.equal((await login(ADMIN.password)).status, 401, 'the old password no longer works')
    assert.equal((await login(generated[1]!)).status, 200, 'the new one does')

    const chosen = 'a chosen password from stdin'
    const piped = await cli(
      ['admin', 'reset-password', '--email', ADMIN.email, '--password-stdin'],
      `${chosen}\n`,
    )
    assert.doesNotMatch(piped.stdout, /shown once/, 'a password the operator chose is not echoed')
    assert.equal((await login(chosen)).status, 200)

    const user = await f.db.readKysely
      .selectFrom('users')
      .select('id')
      .where('email', '=', ADMIN.email)
      .executeTakeFirstOrThrow()
    const events = await f.db.readKysely
      .selectFrom('change_events')
      .select(['actor_type', 'reason', 'changed_fields'])
      .where('table_name', '=', 'users')
      .where('record_id', '=', String(user.id))
      .where('reason', '=', 'audited admin reset-password')
      .execute()
    assert.equal(events.length, 2)
    assert.ok(events.every((e) => e.actor_type === 'system'))

    const short = await cli(
      ['admin', 'reset-password', '--email', ADMIN.email, '--password-stdin'],
      'short\n',
    ).catch((e) => e)
    assert.equal(short.code, 2)
    assert.match(short.stderr, /A password must have 8 to 200 characters/)
    assert.equal((await login(chosen)).status, 200, 'a refused password changes nothing')

    const unknown = await cli(['admin', 'reset-password', '--email', 'nobody@example.test']).catch((e) => e)
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /^audited: No user with e-mail nobody@example\.test\.$/m)
    const missing = await cli(['admin', 'reset-password']).catch((e) => e)
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /--email is required/)
    const wrong = await cli(['admin', 'reset']).catch((e) => e)
    assert.equal(wrong.code, 2)
    assert.match(wrong.stderr, /admin reset-password --email/)
  })
})
