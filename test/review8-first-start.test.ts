/**
 * Review of issue 8 (first-start notice): the first start creates the platform admin with a
 * generated password before it listens. When the listen then failed (the port in use, a
 * host it cannot bind), the process exited without printing the password, and the next
 * start — the admin existing — printed nothing either: nobody could sign in, and nothing
 * said how to recover. The credentials are printed whenever the admin was created.
 * A server process's behaviour, not the database's: on SQLite (as test/server-start.test.ts).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { openDatabase } from '../packages/audited/src/index.js'
import { verifyPassword } from '../packages/cms/src/cms/secrets.js'
import { BOUNDED } from './child-support.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))

it('a first start that cannot listen still prints the generated admin password once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audited-first-'))
  const taken = createServer()
  after(() => {
    taken.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  const port = (taken.address() as { port: number }).port
  const url = `sqlite:${join(dir, 'cms.db')}`
  const run = await exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, 'serve'], {
    env: { ...process.env, DATABASE_URL: url, PORT: String(port), LOG_FORMAT: 'json', ADMIN_PASSWORD: '' },
    ...BOUNDED,
  }).then(
    () => assert.fail('the server listened on a port in use'),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )
  assert.equal(run.code, 1)
  assert.match(run.stderr, /EADDRINUSE/)
  const notice = /e-mail: +(\S+)\n +password: +(\S+) +\(generated, shown once\)/.exec(run.stdout)
  assert.ok(notice, `no credentials printed: ${run.stdout}`)
  assert.match(run.stdout, /reset-password/)
  const db = await openDatabase(url)
  try {
    const user = await db.readKysely
      .selectFrom('users')
      .select('password_hash')
      .where('email', '=', notice[1]!)
      .executeTakeFirstOrThrow()
    assert.ok(
      await verifyPassword(notice[2]!, String(user.password_hash)),
      'the printed password is the one stored',
    )
  } finally {
    await db.close()
  }
})
