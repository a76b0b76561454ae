/**
 * Issue 7 R7: two servers starting on one empty database bootstrap at the same time; the
 * loser sees the winner's tenant and admin and carries on instead of crashing.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import { type AuditedDatabase, openDatabase } from '../packages/audited/src/db/open-database.js'
import { bootstrap } from '../packages/cms/src/cms/bootstrap.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { DIALECTS } from './setup.js'

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
      const second = await openDatabase(created.url)
      opened.push(second)
      const admin = { email: 'race@example.test', password: 'a long enough password' }
      const results = await Promise.all(
        [first, second].map((db) => bootstrap(db, createAuditor({ db, settleMs: 0 }), admin)),
      )
      const winners = results.filter((r) => r !== undefined)
      assert.equal(winners.length, 1, 'exactly one bootstrap created the tenant')
      const tenants = await first.readKysely.selectFrom('tenants').select('id').execute()
      const users = await first.readKysely.selectFrom('users').select(['tenant_id', 'email']).execute()
      assert.equal(tenants.length, 1)
      assert.deepEqual(
        users.map((u) => [String(u.tenant_id), u.email]),
        [[String(tenants[0]!.id), admin.email]],
      )
      // A third start afterwards is the ordinary "already bootstrapped" case.
      assert.equal(await bootstrap(first, createAuditor({ db: first, settleMs: 0 }), admin), undefined)
    })
  })
}
