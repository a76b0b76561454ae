/**
 * Issue 8: the CLI answers help and usage without touching a database (nothing is opened,
 * no driver is loaded): a missing subcommand is a usage error (exit 2) even when DATABASE_URL
 * points nowhere.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { BOUNDED } from './child-support.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))
const env = { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere' }
const cli = (...args: string[]) =>
  exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, ...args], {
    env,
    ...BOUNDED,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  )

it('help and usage need no database', async () => {
  const help = await cli('--help')
  assert.equal(help.code, 0)
  assert.match(help.stdout, /admin reset-password/)
  for (const [command, usage] of [
    ['token', /token create --tenant/],
    ['sessions', /sessions purge/],
    ['admin', /admin reset-password --email/],
    ['retention', /retention run \[--dry-run\]/],
  ] as const) {
    const r = await cli(command)
    assert.equal(r.code, 2, command)
    assert.match(r.stderr, usage)
    assert.doesNotMatch(r.stderr, /database|reach/i, 'no database was asked')
  }
})
