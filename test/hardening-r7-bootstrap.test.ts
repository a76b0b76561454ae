/**
 * Issue 7 R7: two servers starting on one empty database bootstrap at the same time; the
 * loser sees the winner's tenant and admin and carries on instead of crashing. The second
 * start is another process, as in production (two SQLite handles in one process would block
 * each other's event loop in SQLite's busy wait, which no deployment does).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import { type AuditedDatabase, openDatabase } from '../packages/audited/src/db/open-database.js'
import { bootstrap } from '../packages/cms/src/cms/bootstrap.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { track, within } from './child-support.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

const SECOND_START = fileURLToPath(new URL('./fixtures/bootstrap-once.ts', import.meta.url))

for (const d of DIALECTS) {
  describe(`R7 bootstrap race [${d.name}]`, { skip: d.skip }, () => {
    const opened: AuditedDatabase[] = []
    let drop: (() => Promise<void>) | undefined
    after(async () => {
      for (const db of opened) await db.close()
      await drop?.()
    })

    it('R7: bootstrap twice concurrently: one tenant, one admin, neither start fails', async () => {
      const created = await d.create()
      drop = created.drop
      const first = await openDatabase(created.url)
      opened.push(first)
      await migrate(first, CMS_MIGRATIONS)
      const admin = { email: 'race@example.test', password: 'a long enough password' }
      const child = spawn(
        process.execPath,
        [
          '--conditions=audited-dev',
          '--import',
          'tsx',
          SECOND_START,
          created.url,
          admin.email,
          admin.password,
        ],
        { stdio: ['pipe', 'pipe', 'inherit'], detached: true },
      )
      track(child)
      let out = ''
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString()
      })
      const exited = new Promise<number | null>((r) => child.once('exit', r))
      const deadline = Date.now() + 60_000
      while (!out.includes('ready\n')) {
        assert.equal(child.exitCode, null, 'the second start is running')
        assert.ok(Date.now() < deadline, `the second start not ready after 60 s: ${out}`)
        await new Promise((r) => setTimeout(r, 5))
      }
      child.stdin!.end('go\n')
      const here = await bootstrap(first, createAuditor({ personalData: PERSONAL_DATA, db: first }), admin)
      assert.equal(await within(exited, 60_000, 'the second start exiting', () => out), 0)
      const there = out.replace('ready\n', '')
      const outcomes = [here === undefined ? 'existing' : 'created', there].sort()
      assert.deepEqual(outcomes, ['created', 'existing'], 'exactly one bootstrap created the tenant')
      const tenants = await first.readKysely.selectFrom('tenants').select('id').execute()
      const users = await first.readKysely.selectFrom('users').select(['tenant_id', 'email']).execute()
      assert.equal(tenants.length, 1)
      assert.deepEqual(
        users.map((u) => [String(u.tenant_id), u.email]),
        [[String(tenants[0]!.id), admin.email]],
      )
      // A third start afterwards is the ordinary "already bootstrapped" case.
      assert.equal(
        await bootstrap(first, createAuditor({ personalData: PERSONAL_DATA, db: first }), admin),
        undefined,
      )
    })
  })
}
