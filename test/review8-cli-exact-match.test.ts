/**
 * Review of issue 8 (reset-password): the CLI finds the user and the tenant it acts on by
 * their exact e-mail / name, as login does. MariaDB's collations pad trailing spaces (even
 * `utf8mb4_bin`; the server default also folds case and accents), so `--email 'a@x.test '`
 * reset a@x.test's password and `--tenant 'default '` made an admin token in `default`
 * there, where SQLite and PostgreSQL answer "no such user / tenant".
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

forEachHttpDialect('review: the CLI acts on the exact user and tenant', (f) => {
  it('a look-alike e-mail or tenant name is not found, on every database; nothing changes', async () => {
    const env = { ...process.env, DATABASE_URL: await databaseUrlOf(f.name, f.db) }
    const cli = (args: string[]) =>
      exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, ...args], {
        env,
        ...BOUNDED,
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      )
    const events = async () =>
      Number(
        (
          await f.db.readKysely
            .selectFrom('change_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
    const before = await events()

    const reset = await cli(['admin', 'reset-password', '--email', `${ADMIN.email} `])
    assert.equal(reset.code, 1, `reset the password of ${ADMIN.email}: ${reset.stdout}`)
    assert.match(reset.stderr, /No user with e-mail/)
    const login = await f.call('POST', '/api/v1/auth/login', { token: null, body: ADMIN })
    assert.equal(login.status, 200, 'the password is unchanged')

    const token = await cli(['token', 'create', '--tenant', 'default ', '--role', 'admin'])
    assert.equal(token.code, 1, `made a token in tenant "default": ${token.stdout}`)
    assert.match(token.stderr, /No tenant "default "/)
    // The login above is the only write.
    assert.equal(await events(), before + 1)
  })
})
