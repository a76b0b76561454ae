/**
 * The audit explorer in a real browser (Debian's chromium, headless, driven by
 * playwright-core) against the built server on SQLite, PostgreSQL and MariaDB: sign in;
 * create a content type and an entry; edit it twice; open its timeline; diff version 1
 * against version 3; the state at a time; restore version 1 after the preview; the restore
 * event appears in another tab's activity feed without a reload; the event's "verified"
 * badge; axe-core on every screen (no serious or critical violation); the app violates its
 * own CSP nowhere; sign-out ends the session on the server. Screenshots:
 * test-output/explorer/<dialect>-<screen>.png. Also, without a browser: the /admin route's
 * content types, cache headers, CSP and SPA fallback.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import type { Browser, Page } from 'playwright-core'
import {
  addField,
  apiToken,
  assertText,
  browserSkip,
  closedPort,
  describeViolations,
  launchBrowser,
  ROOT,
  type Server,
  screenshot,
  seriousViolations,
  signIn,
  startServer,
  waitCount,
} from './explorer-support.js'
import { DIALECTS } from './setup.js'

const LONG_1 =
  'The quick brown fox jumps over the lazy dog while the audit trail records every single change.'
const LONG_2 =
  'The quick red fox jumps over the sleepy dog while the audit trail records every single change.'

for (const d of DIALECTS) {
  describe(`audit explorer [${d.name}]`, { skip: d.skip }, () => {
    let server: Server
    let drop: () => Promise<void>
    let browser: Browser | undefined
    before(async () => {
      const created = await d.create()
      drop = created.drop
      // Webhook deliveries to a closed local port fail at once and are dead after one attempt.
      server = await startServer(created.url, {
        WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
        WEBHOOK_RETRY_SCHEDULE: '0',
      })
    })
    after(async () => {
      await browser?.close()
      await server?.close()
      await drop?.()
    })

    it('serves the app at /admin: types, cache headers, CSP, SPA fallback, no token needed', async () => {
      const page = await fetch(`${server.url}/admin/record/entries/x`)
      assert.equal(page.status, 200)
      assert.match(page.headers.get('content-type')!, /^text\/html/)
      assert.equal(page.headers.get('cache-control'), 'no-cache')
      const csp = page.headers.get('content-security-policy')!
      assert.match(csp, /default-src 'self'/)
      assert.match(csp, /script-src 'self'(;|$)/)
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/)
      const html = await page.text()
      const js = /src="\/admin\/(assets\/[^"]+\.js)"/.exec(html)![1]!
      const asset = await fetch(`${server.url}/admin/${js}`)
      assert.equal(asset.status, 200)
      assert.match(asset.headers.get('content-type')!, /^text\/javascript/)
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
      assert.ok((await asset.arrayBuffer()).byteLength > 1000)
      const missing = await fetch(`${server.url}/admin/assets/nope.js`)
      assert.equal(missing.status, 404)
      assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found')
      const traversal = await fetch(`${server.url}/admin/..%2f..%2fpackage.json`)
      assert.equal(traversal.status, 404)
      // The budget: at most 100 kB of JavaScript, gzipped (the build measures its bundle).
      const size = JSON.parse(readFileSync(join(ROOT, 'packages/cms/dist/admin/size.json'), 'utf8')) as {
        js: string
        jsGzipBytes: number
      }
      assert.equal(size.js, js, 'size.json describes the bundle the page loads')
      assert.equal(
        size.jsGzipBytes,
        gzipSync(Buffer.from(await (await fetch(`${server.url}/admin/${js}`)).arrayBuffer())).length,
      )
      assert.ok(size.jsGzipBytes <= 100 * 1024, `${size.jsGzipBytes} bytes of JavaScript gzipped`)
      const root = await fetch(`${server.url}/`, { redirect: 'manual' })
      assert.equal(root.status, 302)
      assert.equal(root.headers.get('location'), '/admin/')
    })

    it('sign in, content, two edits, timeline, diff v1↔v3, state at a time, restore, live activity, verified', {
      skip: browserSkip,
      timeout: 180_000,
    }, async () => {
      browser = await launchBrowser()
      const context = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1360, height: 900 } })
      const cspErrors: string[] = []
      const watch = (p: Page) =>
        p.on('console', (m) => {
          if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text())
        })
      const page = await context.newPage()
      watch(page)
      const shot = (name: string) => screenshot(page, `${d.name}-${name}`)
      const axe = async (screen: string) => {
        const vs = await seriousViolations(page)
        assert.deepEqual(vs, [], `${screen}: ${describeViolations(vs)}`)
      }

      await page.goto(`${server.url}/admin/`)
      await page.getByRole('heading', { name: 'Sign in to the audit explorer' }).waitFor()
      await axe('login')
      await shot('login')
      await signIn(page, server.url)
      await axe('activity')
      const token = await apiToken(server.url)
      const hook = await fetch(`${server.url}/api/v1/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${await closedPort()}/hook`, events: ['entries.*'] }),
      })
      assert.equal(hook.status, 201)

      // A content type with a string, a long text and a JSON field, through the form.
      await page.getByRole('link', { name: 'Content' }).click()
      await page.getByRole('heading', { name: 'Content types' }).waitFor()
      await page.getByLabel('Key').fill('article')
      await page.getByLabel('Name', { exact: true }).fill('Article')
      await addField(page, 2, 'body', 'text')
      await addField(page, 3, 'meta', 'json')
      await axe('content types')
      await shot('content-types')
      await page.getByRole('button', { name: 'Create content type' }).click()
      await page.getByRole('heading', { name: 'Article: entries' }).waitFor()

      // The entry, then two edits.
      await page.getByLabel(/^title/).fill('Hello')
      await page.getByLabel(/^body/).fill(LONG_1)
      await page.getByLabel(/^meta/).fill(
        JSON.stringify({
          tags: [
            { id: 't1', label: 'news' },
            { id: 't2', label: 'tech' },
          ],
        }),
      )
      await page.getByRole('button', { name: 'Create entry' }).click()
      await page.getByRole('heading', { name: 'Edit Article entry' }).waitFor()
      const version = page.getByTestId('entry-version')
      await assertText(version, '1')
      // "State at a time" below asks for a second between version 1 and version 2.
      await page.waitForTimeout(1500)
      const between = new Date(Math.floor(Date.now() / 1000) * 1000)
      await page.waitForTimeout(1000)
      await page.getByLabel(/^body/).fill(LONG_2)
      await page.getByRole('button', { name: 'Save' }).click()
      await assertText(version, '2')
      await page.getByLabel(/^title/).fill('Hello again')
      await page.getByLabel(/^meta/).fill(
        JSON.stringify({
          tags: [
            { id: 't2', label: 'technology' },
            { id: 't1', label: 'news' },
          ],
        }),
      )
      await page.getByRole('button', { name: 'Save' }).click()
      await assertText(version, '3')
      await axe('entry edit')
      await shot('entry-edit')

      // The timeline: three versions.
      await page.getByRole('link', { name: 'Timeline of this entry' }).click()
      await page.getByRole('heading', { name: /^Timeline of entries\// }).waitFor()
      const rows = page.locator('.vlist li')
      await waitCount(rows, 3)
      assert.deepEqual(await page.locator('.vlist .badge').allTextContents(), ['create', 'update', 'update'])
      await axe('timeline')
      await shot('timeline')

      // Version 1 against version 3, picked with the keyboard: ↓ moves between rows.
      await page.getByLabel('Compare version 1').focus()
      await page.keyboard.press('Space')
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('ArrowDown')
      assert.equal(
        await page.evaluate(() =>
          (
            globalThis as unknown as {
              document: { activeElement: { getAttribute(n: string): string | null } | null }
            }
          ).document.activeElement?.getAttribute('aria-label'),
        ),
        'Compare version 3',
      )
      await page.keyboard.press('Space')
      assert.equal(await page.getByLabel('Compare version 1').isChecked(), true)
      assert.equal(await page.getByLabel('Compare version 2').isChecked(), false)
      const diff = page.getByRole('region', { name: 'Difference of version 1 and version 3' })
      await diff.waitFor()
      const paths = await diff
        .locator('tbody tr')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-path')))
      assert.ok(paths.includes('data.title'), `paths: ${paths.join(', ')}`)
      assert.ok(paths.includes('data.body'))
      assert.ok(paths.includes('data.meta.tags[id="t2"].label'), 'arrays of objects are matched by id')
      assert.ok(!paths.includes('data.meta.tags[id="t1"].label'), 'a moved, unchanged element is no change')
      const body = diff.locator('tr[data-path="data.body"]')
      assert.deepEqual(await body.locator('del').allTextContents(), ['brown', 'lazy'])
      assert.deepEqual(await body.locator('ins').allTextContents(), ['red', 'sleepy'])
      const changedOnly = await diff.locator('tbody tr').count()
      await diff.getByLabel('Changed fields only').uncheck()
      assert.ok(
        (await diff.locator('tbody tr').count()) > changedOnly,
        'unchecked: unchanged fields shown too',
      )
      await diff.getByLabel('Changed fields only').check()
      await axe('diff')
      await shot('diff')

      // The record as it was between version 1 and version 2.
      await page.getByLabel('Date and time').fill(between.toISOString().slice(0, 19))
      await page.getByRole('button', { name: 'Show state' }).click()
      const state = page.locator('.state pre')
      await state.waitFor()
      const shown = JSON.parse((await state.textContent()) ?? 'null') as {
        data: { title: string; body: string }
      }
      assert.equal(shown.data.title, 'Hello')
      assert.equal(shown.data.body, LONG_1)
      await axe('state at a time')
      await shot('state-at')
      // Or at an event: "State" on version 3.
      await page.getByRole('button', { name: 'State at version 3' }).click()
      const atEvent = page.locator('.state[data-at]:not([data-at*="T"]) pre')
      await atEvent.waitFor()
      const v3 = JSON.parse((await atEvent.textContent()) ?? 'null') as { data: { title: string } }
      assert.equal(v3.data.title, 'Hello again')

      // Another tab follows the activity feed live.
      const watcher = await context.newPage()
      watch(watcher)
      await signIn(watcher, server.url)
      await watcher.getByText('● Live').waitFor()
      await watcher.evaluate(() => {
        ;(globalThis as unknown as { notReloaded: boolean }).notReloaded = true
      })

      // Restore version 1: the preview first, then the confirmation.
      await page.getByRole('button', { name: 'Restore version 1' }).click()
      const preview = page.getByRole('region', { name: 'What the restore will change' })
      await preview.waitFor()
      const previewPaths = await preview
        .locator('tbody tr')
        .evaluateAll((t) => t.map((r) => r.getAttribute('data-path')))
      assert.ok(previewPaths.includes('data.title'))
      assert.ok(
        !previewPaths.includes('version'),
        'the preview shows what the restore writes, not bookkeeping',
      )
      await axe('restore preview')
      await shot('restore-preview')
      await page.getByRole('button', { name: 'Confirm restore' }).click()
      await waitCount(rows, 4)
      assert.equal(await page.locator('.vlist li[data-index="3"] .badge').textContent(), 'restore')
      assert.match(
        (await page.locator('.vlist li[data-index="3"] .reason').textContent()) ?? '',
        /^restore of event /,
      )
      await shot('timeline-restored')

      // The restore arrives in the other tab's feed, which was never reloaded.
      const restoreRow = watcher.locator('table.events tbody tr', {
        has: watcher.locator('.badge', { hasText: 'restore' }),
      })
      // On PostgreSQL the feed (and so the stream and the sealer) waits for older open
      // transactions of the whole cluster, other test files' included: a generous bound.
      await restoreRow.first().waitFor({ timeout: 60_000 })
      assert.equal(
        await watcher.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded),
        true,
      )
      await screenshot(watcher, `${d.name}-activity-live`)
      // Filters: only restores of entries; the page is the same document still.
      await watcher.getByLabel('Table').selectOption('entries')
      await watcher.getByLabel('Action').selectOption('restore')
      await watcher.getByRole('button', { name: 'Apply' }).click()
      await waitCount(watcher.locator('table.events tbody tr'), 1)
      assert.equal(await watcher.locator('table.events tbody .badge').textContent(), 'restore')
      await watcher.getByLabel('Action').selectOption('delete')
      await watcher.getByRole('button', { name: 'Apply' }).click()
      await watcher.getByText('No events match.').waitFor()
      await watcher.getByLabel('Action').selectOption('restore')
      await watcher.getByRole('button', { name: 'Apply' }).click()
      await waitCount(watcher.locator('table.events tbody tr'), 1)
      assert.equal(
        await watcher.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded),
        true,
      )

      // The restore event in full, verified in the browser once its checkpoint is signed.
      await restoreRow
        .first()
        .getByRole('link', { name: /^details of event / })
        .click()
      await watcher.getByRole('heading', { name: /^Event / }).waitFor()
      const deadline = Date.now() + 60_000
      while (!(await watcher.getByText('✔ verified').isVisible())) {
        assert.ok(Date.now() < deadline, `not verified: ${await watcher.locator('.verdict').textContent()}`)
        const again = watcher.getByRole('button', { name: 'Check again' })
        if (await again.isVisible()) await again.click()
        await watcher.waitForTimeout(500)
      }
      const vs = await seriousViolations(watcher)
      assert.deepEqual(vs, [], `event detail: ${describeViolations(vs)}`)
      await screenshot(watcher, `${d.name}-event-verified`)
      // The badge is the browser's own check: an event altered on the way is not verified.
      const eventUrl = new URL(watcher.url()).hash.replace('#/event/', '')
      await watcher.route(`**/api/v1/audit/events/${eventUrl}`, async (route) => {
        const res = await route.fetch()
        const altered = { ...(await res.json()), reason: 'altered on the way' }
        await route.fulfill({ response: res, json: altered })
      })
      await watcher.reload()
      await watcher.getByText('not verified').waitFor({ timeout: 20_000 })
      assert.match((await watcher.locator('.verdict').textContent()) ?? '', /does not hash to its leaf/)
      await watcher.unroute(`**/api/v1/audit/events/${eventUrl}`)

      // Webhooks and retention screens open and pass axe too.
      for (const [link, heading] of [
        ['Webhooks', 'Webhooks'],
        ['Retention', 'Retention'],
      ] as const) {
        await page.getByRole('link', { name: link }).click()
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor()
        await axe(heading)
        await shot(heading.toLowerCase())
      }
      // The failed (dead) deliveries of the entry's events, and a replay.
      await page.getByRole('link', { name: 'Webhooks' }).click()
      await page.getByRole('button', { name: 'Deliveries' }).click()
      const dead = page.locator('table[aria-label="Deliveries"] tbody tr')
      const until = Date.now() + 60_000
      while ((await dead.count()) === 0) {
        assert.ok(Date.now() < until, 'the failed deliveries are listed as dead')
        await page.getByLabel('Status').selectOption('retrying')
        await page.getByLabel('Status').selectOption('dead')
        await page.waitForTimeout(500)
      }
      assert.match((await dead.first().textContent()) ?? '', /entries\.\w+dead1/)
      await dead.first().getByRole('button', { name: 'Replay' }).click()
      await page.getByText('Replay queued (1).').waitFor()
      await axe('webhook deliveries')
      await shot('webhook-deliveries')
      await page.getByRole('link', { name: 'Retention' }).click()
      await page.getByRole('heading', { name: 'Retention', level: 1 }).waitFor()

      // A retention policy set through the form reads back.
      await page.getByLabel('Keep days', { exact: true }).fill('400')
      await page.getByLabel(/^Per-table keep days/).fill('entries=30')
      await page.getByRole('button', { name: 'Save policy' }).click()
      await page.getByText('Saved.').waitFor()
      await page.getByText('Events older than 400 days are purged after archiving.').waitFor()
      assert.equal(await page.getByLabel(/^Per-table keep days/).inputValue(), 'entries=30')

      // Sign out ends the session on the server too; the other tab's session is its own.
      const tokenOf = (p: Page) =>
        p.evaluate(() =>
          (
            globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }
          ).sessionStorage.getItem('audited.session'),
        )
      const [mine, theirs] = [await tokenOf(page), await tokenOf(watcher)]
      const me = (t: string | null) =>
        fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${t}` } })
      assert.equal((await me(mine)).status, 200)
      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByRole('heading', { name: 'Sign in to the audit explorer' }).waitFor()
      assert.equal(((await page.getByRole('status').textContent()) ?? '').trim(), 'You are signed out.')
      assert.equal((await me(mine)).status, 401, 'the signed-out token is refused')
      assert.equal((await me(theirs)).status, 200, "the other tab's session goes on")
      assert.deepEqual(cspErrors, [], 'the app never violates its own CSP')
      await context.close()
    })
  })
}
