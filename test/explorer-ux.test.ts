/**
 * The explorer's forms and focus in a real browser, from a newcomer's pass through the
 * issue's steps (chromium in the Europe/Berlin time zone, so local and UTC differ): a
 * content type's key rule is said before it is broken; enum options can be typed with
 * commas; a datetime field shows and saves the time that was entered (it used to show
 * UTC as local time and move by the zone's offset at every save); a JSON field's error
 * names the field; an enum field shows its stored option (the form showed "—", and every
 * save erased the value); Save keeps the keyboard's place; closing the restore preview gives
 * focus back to its Restore button; "State" on a version names the version; the retention
 * form checks its per-table days and never shows a stale "Saved." beside an error; a
 * live stream the server refuses (401) signs the tab out with a notice instead of retrying
 * every second. SQLite only: all of it happens in the browser, the database plays no part
 * (the main flow, on SQLite and PostgreSQL, is test/explorer-browser.test.ts).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import {
  addField,
  apiToken,
  assertText,
  browserSkip,
  launchBrowser,
  type Server,
  screenshot,
  signIn,
  startServer,
} from './explorer-support.js'
import { DIALECTS } from './setup.js'

const focused = (page: Page) =>
  page.evaluate(() => {
    const el = (
      globalThis as unknown as {
        document: {
          activeElement: { textContent: string | null; getAttribute(n: string): string | null } | null
        }
      }
    ).document.activeElement
    return el === null ? 'none' : (el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40))
  })

for (const d of DIALECTS.filter((x) => x.name === 'sqlite')) {
  describe(`audit explorer forms and focus [${d.name}]`, { skip: d.skip || browserSkip }, () => {
    let server: Server
    let drop: () => Promise<void>
    let browser: Browser | undefined
    before(async () => {
      const created = await d.create()
      drop = created.drop
      server = await startServer(created.url)
    })
    after(async () => {
      await browser?.close()
      await server?.close()
      await drop?.()
    })

    it('content type, entry with datetime/enum/json, save, restore preview, state, retention, stream 401', {
      timeout: 120_000,
    }, async () => {
      browser = await launchBrowser()
      const context = await browser.newContext({ timezoneId: 'Europe/Berlin' })
      const page = await context.newPage()
      await signIn(page, server.url)
      await page.getByRole('link', { name: 'Content', exact: true }).click()
      await page.getByRole('heading', { name: 'Content types' }).waitFor()

      // The key's rule is on the screen, tied to the input.
      const key = page.getByLabel('Key')
      const rule = await key.getAttribute('aria-describedby')
      assert.ok(rule, 'the key input is described')
      assert.match((await page.locator(`#${rule}`).textContent()) ?? '', /a–z first/)
      await key.fill('ux_event')
      await page.getByLabel('Name', { exact: true }).fill('UX event')
      await addField(page, 2, 'starts', 'datetime')
      await addField(page, 3, 'kind', 'enum')
      // Typed key by key, as a person does: the comma stays.
      const options = page.getByLabel('Field 3 options (comma-separated)')
      await options.pressSequentially('draft, published')
      assert.equal(await options.inputValue(), 'draft, published')
      await addField(page, 4, 'meta', 'json')
      await page.getByRole('button', { name: 'Create content type' }).click()
      await page.getByRole('heading', { name: 'UX event: entries' }).waitFor()
      assert.deepEqual(await page.locator('#f-kind option').allTextContents(), ['—', 'draft', 'published'])

      await page.getByLabel(/^title/).fill('Launch')
      await page.getByLabel(/^starts/).fill('2026-06-01T10:00:00')
      await page.getByLabel(/^kind/).selectOption('published')
      await page.getByLabel(/^meta/).fill('{bad')
      await page.getByRole('button', { name: 'Create entry' }).click()
      await page.getByRole('alert').waitFor()
      assert.match((await page.getByRole('alert').textContent()) ?? '', /^meta: not valid JSON/)
      await page.getByLabel(/^meta/).fill('{"a": 1}')
      await page.getByRole('button', { name: 'Create entry' }).click()
      await page.getByRole('heading', { name: 'Edit UX event entry' }).waitFor()
      const id = page.url().split('/').at(-1)!

      // The time entered is the time shown, and a save without a change changes nothing.
      assert.equal(await page.getByLabel(/^starts/).inputValue(), '2026-06-01T10:00')
      assert.equal(await page.getByLabel(/^kind/).inputValue(), 'published', 'the stored option is shown')
      await page.getByRole('button', { name: 'Save' }).click()
      await page.getByText('Saved: version 1.').waitFor()
      assert.equal(await page.getByLabel(/^starts/).inputValue(), '2026-06-01T10:00')
      assert.equal(await focused(page), 'Save', 'focus stays on Save')
      const token = await apiToken(server.url)
      const entry = (await (
        await fetch(`${server.url}/api/v1/entries/ux_event/${id}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as { version: number; data: { starts: string } }
      assert.equal(entry.data.starts, '2026-06-01T08:00:00.000Z', '10:00 in Berlin (CEST) is 08:00 UTC')
      assert.equal(entry.version, 1, 'nothing changed: no new version')
      assert.equal((entry.data as { kind?: string }).kind, 'published', 'a save keeps the enum value')
      await page.getByLabel(/^title/).fill('Launch day')
      await page.getByRole('button', { name: 'Save' }).click()
      await assertText(page.getByTestId('entry-version'), '2')

      // Timeline: the preview closes back onto its button; "State" names its version.
      await page.getByRole('link', { name: 'Timeline of this entry' }).click()
      await page.getByRole('button', { name: 'Restore version 1' }).click()
      await page.getByRole('region', { name: 'What the restore will change' }).waitFor()
      await page.keyboard.press('Escape')
      await page.getByRole('region', { name: 'Restore preview' }).waitFor({ state: 'detached' })
      assert.equal(await focused(page), 'Restore version 1')
      await page.getByRole('button', { name: 'Restore version 1' }).click()
      await page.getByRole('button', { name: 'Cancel' }).click()
      assert.equal(await focused(page), 'Restore version 1')
      await page.getByRole('button', { name: 'State at version 1' }).click()
      await page.locator('.state pre').waitFor()
      assert.match((await page.locator('.state p').textContent()) ?? '', /^As of version 1 \(/)
      await screenshot(page, `${d.name}-ux-timeline`)

      // Retention: a malformed per-table pair is named, and "Saved." never stands beside an error.
      await page.getByRole('link', { name: 'Retention' }).click()
      await page.getByRole('heading', { name: 'Retention', level: 1 }).waitFor()
      await page.getByLabel('Keep days', { exact: true }).fill('400')
      await page.getByLabel(/^Per-table keep days/).fill('entries=30')
      await page.getByRole('button', { name: 'Save policy' }).click()
      await page.getByText('Saved.').waitFor()
      await page.getByLabel(/^Per-table keep days/).fill('entries=abc')
      await page.getByRole('button', { name: 'Save policy' }).click()
      await page.getByRole('alert').waitFor()
      assert.match((await page.getByRole('alert').textContent()) ?? '', /"entries=abc" is not table=days/)
      assert.equal(await page.getByText('Saved.').count(), 0, 'no stale "Saved." beside the error')

      // A stream the server refuses signs the tab out, with the reason, instead of retrying.
      await page.route('**/api/v1/audit/stream**', (route) =>
        route.fulfill({
          status: 401,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'unauthorized', message: 'The token is not valid.' } }),
        }),
      )
      await page.getByRole('link', { name: 'Activity' }).click()
      await page.getByRole('heading', { name: 'Sign in to the audit explorer' }).waitFor({ timeout: 10_000 })
      assert.equal(
        ((await page.getByRole('status').textContent()) ?? '').trim(),
        'You were signed out: The token is not valid.',
      )
      await context.close()
    })
  })
}
