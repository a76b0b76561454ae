/**
 * The record timeline with 10,000 versions of one entry (the first through the API of the
 * built server, the others through the engine beside it), opened in chromium: the first page's time, from the timeline's mount to its
 * first rows painted (Performance API measure `timeline:first-page`), and from navigation
 * start, is REPORTED, not asserted (speed goes into reports, never timed assertions). What
 * is asserted: the list is virtualized (a few dozen rows in the DOM, not thousands) and
 * scrolling to the end loads every version, the last one v10000.
 */
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createAuditor, openDatabase } from '../packages/audited/src/index.js'
import { operatorCaller } from '../packages/cms/src/cms/caller.js'
import { entries } from '../packages/cms/src/cms/entities.js'
import { touched } from '../packages/cms/src/cms/records.js'
import {
  apiToken,
  browserSkip,
  launchBrowser,
  OUTPUT,
  type Server,
  screenshot,
  signIn,
  startServer,
  waitCount,
} from './explorer-support.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

const VERSIONS = 10_000
/** Updates per seeding transaction. */
const SEED_BATCH = 500

for (const d of DIALECTS.filter((x) => x.name === 'sqlite' || x.name === 'postgres')) {
  describe(`explorer timeline of ${VERSIONS} versions [${d.name}]`, { skip: d.skip || browserSkip }, () => {
    let server: Server
    let url: string
    let drop: () => Promise<void>
    before(async () => {
      const created = await d.create()
      drop = created.drop
      url = created.url
      server = await startServer(created.url)
    })
    after(async () => {
      await server?.close()
      await drop?.()
    })

    it('opens the first page of a 10,000-version record and reaches the last version', {
      timeout: 600_000,
    }, async () => {
      const token = await apiToken(server.url)
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server.url}/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
        const json = (await res.json()) as { id?: string }
        assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`)
        return json
      }
      await call('POST', '/content-types', {
        key: 'note',
        name: 'Note',
        fields: [{ name: 'n', type: 'integer' }],
      })
      const { id } = await call('POST', '/entries/note', { data: { n: 1 } })
      // The other 9,999 versions: written beside the running server through the engine, 500
      // updates of the entry per transaction — each its own audited `update` event, as a
      // PATCH makes — so seeding takes seconds, not the minutes 9,999 HTTP round trips took.
      const seedStart = performance.now()
      const db = await openDatabase(url)
      try {
        // 500 updates in one transaction: the default 5 s budget is too short for that on a
        // loaded 2-core machine (a CI run timed out at it on PostgreSQL).
        const auditor = createAuditor({ db, personalData: PERSONAL_DATA, timeoutMs: 120_000 })
        const tenant = (await db.readKysely
          .selectFrom('entries' as never)
          .select('tenant_id' as never)
          .where('id' as never, '=', id! as never)
          .executeTakeFirstOrThrow()) as { tenant_id: string }
        const caller = operatorCaller(tenant.tenant_id, 'seed', 'the 10,000-version timeline test')
        for (let n = 2; n <= VERSIONS; n += SEED_BATCH) {
          await auditor.transaction(caller.ctx, async (tx) => {
            for (let v = n; v < Math.min(n + SEED_BATCH, VERSIONS + 1); v++)
              await tx.update(entries, id!, touched({ data: { n: v } }))
          })
        }
        await auditor.close()
      } finally {
        await db.close()
      }
      const seedMs = performance.now() - seedStart

      const browser = await launchBrowser()
      try {
        const context = await browser.newContext({ viewport: { width: 1360, height: 900 } })
        const page = await context.newPage()
        await signIn(page, server.url)
        // The server seals the 10,000 new events first (CPU-bound hashing): measured after it.
        await waitSealed(server.url, token, id!)
        // Warm: the app's code is loaded; each measure covers the timeline alone (median of 5).
        const warm: number[] = []
        for (let i = 0; i < 5; i++) {
          await page.evaluate(() => {
            ;(globalThis as unknown as { location: { hash: string } }).location.hash = '#/content'
          })
          await page.getByRole('heading', { name: 'Content types' }).waitFor()
          await page.evaluate((recordId) => {
            ;(globalThis as unknown as { location: { hash: string } }).location.hash =
              `#/record/entries/${recordId}`
          }, id!)
          await page.locator('.vlist li').first().waitFor()
          const ms = await page.evaluate(async () => {
            for (let i = 0; i < 100 && performance.getEntriesByName('timeline:first-page').length === 0; i++)
              await new Promise((r) => setTimeout(r, 20))
            return performance.getEntriesByName('timeline:first-page')[0]?.duration
          })
          assert.ok(ms !== undefined, 'the timeline measured its first page')
          warm.push(ms)
        }
        const inApp = [...warm].sort((a, b) => a - b)[2]!
        // Cold: a fresh load of the deep link (HTML, JS, /me, the first history page).
        await page.reload()
        await page.locator('.vlist li').first().waitFor()
        const cold = await page.evaluate(async () => {
          for (let i = 0; i < 100 && performance.getEntriesByName('timeline:first-page').length === 0; i++)
            await new Promise((r) => setTimeout(r, 20))
          const m = performance.getEntriesByName('timeline:first-page')[0]
          return m === undefined ? undefined : m.startTime + m.duration
        })
        const inDom = await page.locator('.vlist li').count()
        assert.ok(inDom > 0 && inDom < 60, `virtualized: ${inDom} rows in the DOM`)
        await screenshot(page, `${d.name}-timeline-10k`)

        // Scrolling to the end pages through every version (1,000 a page after the first 100).
        const deadline = Date.now() + 120_000
        for (;;) {
          await page.locator('.vlist').evaluate((el) => {
            el.scrollTop = el.scrollHeight
          })
          if ((await page.locator(`.vlist li[data-index="${VERSIONS - 1}"]`).count()) === 1) break
          assert.ok(Date.now() < deadline, 'every version loads')
          await page.waitForTimeout(100)
        }
        assert.equal(
          await page.locator(`.vlist li[data-index="${VERSIONS - 1}"] .ver`).textContent(),
          `v${VERSIONS}`,
        )
        assert.ok((await page.locator('.vlist li').count()) < 60, 'still virtualized at the end')

        // The activity feed pages newest first by cursor: 50, then 50 older.
        await page.getByRole('link', { name: 'Activity' }).click()
        const feed = page.locator('table.events tbody tr')
        await waitCount(feed, 50)
        const newestFirst = await feed.evaluateAll((trs) =>
          trs.map((tr) => tr.getAttribute('data-event-id')!),
        )
        assert.deepEqual(
          newestFirst,
          [...newestFirst].sort().reverse(),
          'newest first (ULIDs of one process)',
        )
        await page.getByRole('button', { name: 'Older events' }).click()
        await waitCount(feed, 100)
        const both = await feed.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event-id')!))
        assert.deepEqual(both.slice(0, 50), newestFirst)
        assert.deepEqual(both, [...both].sort().reverse(), 'the older page continues after the first')
        assert.equal(new Set(both).size, 100)

        const report = {
          dialect: d.name,
          versions: VERSIONS,
          seedSeconds: Number((seedMs / 1000).toFixed(1)),
          firstPageMs: Number(inApp.toFixed(1)),
          firstPageRunsMs: warm.map((w) => Number(w.toFixed(1))),
          coldLoadFirstPageMs: cold === undefined ? null : Number(cold.toFixed(1)),
          rowsInDom: inDom,
        }
        mkdirSync(OUTPUT, { recursive: true })
        writeFileSync(join(OUTPUT, `${d.name}-timeline-10k.json`), `${JSON.stringify(report, null, 2)}\n`)
        process.stdout.write(
          `# explorer timeline [${d.name}]: ${VERSIONS} versions seeded in ${report.seedSeconds} s; first page ${report.firstPageMs} ms from the timeline's mount (median of ${warm.map((w) => w.toFixed(0)).join(', ')}), ${report.coldLoadFirstPageMs} ms from a cold page load; ${inDom} rows in the DOM\n`,
        )
        await context.close()
      } finally {
        await browser.close()
      }
    })
  })
}

/** Until the newest event of the record has its inclusion proof (the sealer caught up). */
async function waitSealed(url: string, token: string, id: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}` }
  const page = (await (
    await fetch(`${url}/api/v1/audit/events?table=entries&recordId=${id}&order=desc&limit=1`, { headers })
  ).json()) as { items: { eventId: string }[] }
  const newest = page.items[0]!.eventId
  const deadline = Date.now() + 300_000
  while ((await fetch(`${url}/api/v1/audit/events/${newest}/proof`, { headers })).status !== 200) {
    assert.ok(Date.now() < deadline, 'the sealer catches up')
    await new Promise((r) => setTimeout(r, 250))
  }
}
