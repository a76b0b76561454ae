/**
 * Review 9: the feed gauges read the database at every scrape. When the database does not
 * answer, `/metrics` must still answer (the process's own counters are what an operator
 * looks at then), without the feed gauges, instead of failing the whole scrape.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import { type AuditedDatabase, openDatabase } from '../packages/audited/src/db/open-database.js'
import { bootstrap } from '../packages/cms/src/cms/bootstrap.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { type App, buildApp } from '../packages/cms/src/server/app.js'
import { ADMIN } from './http-setup.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

for (const d of DIALECTS) {
  describe(`review9: /metrics with the database down [${d.name}]`, { skip: d.skip }, () => {
    let db: AuditedDatabase
    let app: App
    let drop: (() => Promise<void>) | undefined
    before(async () => {
      const created = await d.create()
      drop = created.drop
      db = await openDatabase(created.url)
      await migrate(db, CMS_MIGRATIONS)
      const auditor = createAuditor({ personalData: PERSONAL_DATA, db, hooks: { after: [() => {}] } })
      await bootstrap(db, auditor, ADMIN)
      app = buildApp({ db, auditor })
      await app.ready()
    })
    after(async () => {
      await app?.close()
      await drop?.()
    })

    it('answers 200 with the process metrics when feed.stats() fails', async () => {
      const up = await app.inject({ method: 'GET', url: '/metrics' })
      assert.equal(up.statusCode, 200)
      assert.match(up.body, /audited_feed_consumer_lag_events\{consumer="audited.after-hooks"\} \d+/)
      await db.close() // the database is gone: every query fails
      const down = await app.inject({ method: 'GET', url: '/metrics' })
      assert.equal(down.statusCode, 200, down.body.slice(0, 300))
      assert.match(down.body, /audited_http_requests_total/)
      assert.doesNotMatch(down.body, /audited_feed_consumer_lag_events\{/, 'no stale feed values')
    })
  })
}
