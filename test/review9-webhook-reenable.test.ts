/**
 * Review 9: a subscription switched off for failing too long and switched back on by an
 * admin starts a new failure period: one failed attempt after re-enabling must not disable
 * it again at once (it was failing for "5 days" only before it was off).
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { forEachHttpDialect } from './http-setup.js'
import { noteType, scriptedReceiver, sleep, subscribe, until } from './webhook-delivery-support.js'

const DISABLE_AFTER_MS = 1500

forEachHttpDialect(
  'review9: re-enabled webhook',
  (f) => {
    it('a re-enabled subscription is not disabled again by its first failure', async () => {
      const rx = await scriptedReceiver((_req, res) => res.writeHead(500).end())
      try {
        const type = await noteType(f)
        const hook = await subscribe(f, `${rx.origin}/h`, ['entries.create'])
        const shown = async () => (await f.call('GET', `/api/v1/webhooks/${hook.id}`)).body
        // Fail for longer than the disable period: the subscription is switched off.
        await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'a' } } })
        await until(async () => (await shown()).active === false, 15_000, 'disabled for failing')
        assert.match((await shown()).disabledReason, /failed since/)

        // The admin fixed the receiver (mostly) and switches the subscription back on.
        const patched = await f.call('PATCH', `/api/v1/webhooks/${hook.id}`, { body: { active: true } })
        assert.equal(patched.status, 200)
        let failures = 1
        const before = rx.requests.length
        rx.setAnswer((_req, res) => res.writeHead(failures-- > 0 ? 500 : 204).end())
        await until(() => rx.requests.length > before, 10_000, 'an attempt after re-enabling')
        // One failure is not a failure period of DISABLE_AFTER_MS.
        await sleep(500)
        const after = await shown()
        assert.equal(after.active, true, `disabled again at once: ${after.disabledReason}`)
        await until(() => rx.requests.slice(before).length >= 2, 10_000, 'the retry after the one failure')
      } finally {
        await rx.close()
      }
    })
  },
  {
    webhooks: {
      policy: parseAllowHosts('127.0.0.1'),
      schedule: [0, 400, 400, 400, 400, 400, 400, 400],
      disableAfterMs: DISABLE_AFTER_MS,
      timeoutMs: 3000,
      pollMs: 20,
    },
  },
)
