/**
 * The CLI as a user runs it (a child process per command, settings from the environment),
 * on every dialect: migrate, token create, events, history, export with progress.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { bootstrap } from '../packages/cms/src/cms/bootstrap.js'
import { hashToken } from '../packages/cms/src/cms/secrets.js'
import { BOUNDED } from './child-support.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))

for (const d of DIALECTS) {
  describe(`cli [${d.name}]`, { skip: d.skip }, () => {
    let drop: () => Promise<void>
    let env: NodeJS.ProcessEnv
    const dir = mkdtempSync(join(tmpdir(), 'audited-cli-'))
    const cli = (...args: string[]) =>
      exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, ...args], {
        env,
        ...BOUNDED,
      })
    before(async () => {
      const created = await d.create()
      drop = created.drop
      env = { ...process.env, DATABASE_URL: created.url, LOG_LEVEL: 'silent' }
    })
    after(async () => {
      await drop()
      rmSync(dir, { recursive: true, force: true })
    })

    it('migrate, token create, events, history and export work end to end', async () => {
      assert.match(
        (await cli('migrate')).stdout,
        /Applied: 1, 2, 3, 4, 5, 6, 7, 8, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007\n/,
      )
      assert.match((await cli('migrate')).stdout, /Up to date/)
      const db = await openDatabase(String(env.DATABASE_URL))
      try {
        await bootstrap(db, createAuditor({ personalData: PERSONAL_DATA, db }), {
          email: 'cli@example.test',
          password: 'long enough pw',
        })
        const made = JSON.parse(
          (await cli('token', 'create', '--tenant', 'default', '--role', 'editor')).stdout,
        )
        assert.equal(made.role, 'editor')
        const row = await db.readKysely
          .selectFrom('tokens')
          .selectAll()
          .where('id', '=', made.id)
          .executeTakeFirst()
        assert.equal(row?.token_hash, hashToken(made.token), 'only the hash is stored')
      } finally {
        await db.close()
      }
      const lines = (await cli('events', '--tenant', 'default')).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      assert.deepEqual(
        lines.map((e) => [e.table, e.action]),
        [
          ['tenants', 'create'],
          ['users', 'create'],
          ['tokens', 'create'],
        ],
      )
      const tokenEvent = lines[2]
      assert.equal(tokenEvent.actorType, 'system')
      assert.equal(tokenEvent.newValues.token_hash, '[redacted]')
      const hist = (await cli('history', 'tokens', tokenEvent.recordId)).stdout.trim().split('\n')
      assert.equal(hist.length, 1)
      const out = join(dir, `events-${d.name}.csv`)
      const exported = await cli('export', '--format', 'csv', '--out', out)
      assert.match(exported.stderr, /100% 3\/3 events/)
      const csv = readFileSync(out, 'utf8').trim().split('\r\n')
      assert.equal(csv.length, 4)
      assert.match(csv[0]!, /^eventId,hlc,wallTime/)
    })

    it('bad usage is a clear error with a non-zero exit', async () => {
      await assert.rejects(
        cli('export', '--format', 'xml', '--out', join(dir, 'x')),
        (e: { code?: number; stderr?: string }) => {
          assert.equal(e.code, 2)
          assert.match(String(e.stderr), /--format must be ndjson or csv/)
          return true
        },
      )
      await assert.rejects(cli('frobnicate'), (e: { code?: number }) => e.code === 2)
      assert.match((await cli('--help')).stdout, /Commands:/)
      assert.match((await cli('events', '--help')).stdout, /--follow/)
    })
  })
}
