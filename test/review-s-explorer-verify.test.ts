/**
 * Review S: the explorer's "verified" badge (packages/cms/ui/src/verify.ts) for an event with
 * personal values. The event detail screen reads `GET /audit/events/:eventId` (personal
 * values decrypted) and hashes what it got, while the leaves hash the stored, encrypted
 * form: every user and every personal entry event read "not verified" — a false alarm.
 * Run here with the browser module itself: `fetch` answered by the app, a session token in
 * a `sessionStorage` stand-in.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { forEachHttpDialect } from './http-setup.js'

/** A browser module of the explorer (not type-checked here: it uses the DOM's types). */
const UI = (name: string): string => `../packages/cms/ui/src/${name}.js`

forEachHttpDialect(
  'review S: explorer verify of a personal event',
  (f) => {
    let verifyEvent: (e: unknown) => Promise<{ ok: boolean; reason?: string }>
    let eventId = ''
    let plainId = ''

    before(async () => {
      const g = globalThis as unknown as Record<string, unknown>
      const store = new Map<string, string>([['audited.session', f.adminToken]])
      g.sessionStorage = {
        getItem: (k: string) => store.get(k) ?? null,
        setItem: (k: string, v: string) => store.set(k, v),
        removeItem: (k: string) => store.delete(k),
      }
      g.fetch = async (
        url: string,
        init: { method?: string; headers?: Record<string, string>; body?: string },
      ) => {
        const res = await f.app.inject({
          method: (init.method ?? 'GET') as 'GET',
          url,
          headers: init.headers ?? {},
          ...(init.body === undefined ? {} : { payload: init.body }),
        })
        return new Response(res.statusCode === 204 ? null : res.body, {
          status: res.statusCode,
          headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') },
        })
      }
      ;({ verifyEvent } = (await import(UI('verify'))) as never)
      // The module keeps the token it read first: this suite's own (one suite per dialect).
      const { session } = (await import(UI('api'))) as never as {
        session: { set(t: string): void }
      }
      session.set(f.adminToken)
      const created = await f.call('POST', '/api/v1/users', {
        body: { email: 'person@example.test', name: 'A Person', password: 'a long password', role: 'viewer' },
      })
      assert.equal(created.status, 201, JSON.stringify(created.body))
      const locale = await f.call('POST', '/api/v1/locales', { body: { code: 'de', name: 'Deutsch' } })
      assert.equal(locale.status, 201, JSON.stringify(locale.body))
      await f.integrity!.sealer.flush()
      for (let attempt = 0; (eventId === '' || plainId === '') && attempt < 200; attempt++) {
        const list = await f.call('GET', '/api/v1/audit/events?limit=1000')
        const items = list.body.items as { eventId: string; table: string; recordId: string }[]
        eventId = items.find((e) => e.table === 'users' && e.recordId === created.body.id)?.eventId ?? ''
        plainId = items.find((e) => e.table === 'locales')?.eventId ?? ''
        await f.integrity!.sealer.flush()
      }
    })

    it('an event without personal values is verified (control)', async () => {
      const shown = await f.call('GET', `/api/v1/audit/events/${plainId}`)
      const verdict = await verifyEvent(shown.body)
      assert.equal(verdict.ok, true, verdict.reason)
    })

    it("a user's event (personal e-mail and name) is verified, as the event screen shows it", async () => {
      const shown = await f.call('GET', `/api/v1/audit/events/${eventId}`)
      assert.equal(shown.body.newValues.email, 'person@example.test')
      const verdict = await verifyEvent(shown.body)
      assert.equal(verdict.ok, true, verdict.reason)
    })

    // (A personal value as shown cannot be checked in the browser: it holds no key.)
    it('a shown event that differs from the stored one is not verified', async () => {
      const shown = await f.call('GET', `/api/v1/audit/events/${eventId}`)
      const altered = { ...shown.body, newValues: { ...shown.body.newValues, role: 'admin' } }
      assert.equal((await verifyEvent(altered)).ok, false)
      assert.equal((await verifyEvent({ ...shown.body, reason: 'altered on the way' })).ok, false)
    })
  },
  { sealer: true },
)
