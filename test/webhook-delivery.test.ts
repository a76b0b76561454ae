/**
 * Webhook delivery end to end on every dialect: the CMS's API creates subscriptions and
 * content, the server delivers to a real receiver on 127.0.0.1 (allowed explicitly), and
 * every delivery is checked with the Standard Webhooks reference verifier.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { forEachHttpDialect } from './http-setup.js'
import {
  deliveries,
  noteType,
  scriptedReceiver,
  subscribe,
  until,
  verified,
} from './webhook-delivery-support.js'

forEachHttpDialect(
  'webhook delivery',
  (f) => {
    it('delivers matching events, signed, in feed order; filters by pattern', async () => {
      const rx = await scriptedReceiver()
      try {
        const type = await noteType(f)
        const all = await subscribe(f, `${rx.origin}/all`, ['entries.*'])
        const onlyPublish = await subscribe(f, `${rx.origin}/publish`, ['entries.publish'])
        const e = await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'one' } } })
        assert.equal(e.status, 201)
        const url = `/api/v1/entries/${type}/${e.body.id}`
        assert.equal((await f.call('PATCH', url, { body: { data: { title: 'two' } } })).status, 200)
        assert.equal((await f.call('POST', `${url}/publish`)).status, 200)
        await until(
          () =>
            rx.requests.filter((r) => r.path === '/all').length >= 3 &&
            rx.requests.some((r) => r.path === '/publish'),
        )
        const toAll = rx.requests.filter((r) => r.path === '/all').map((r) => verified(all.secret, r))
        assert.deepEqual(
          toAll.map((b) => b.type),
          ['entries.create', 'entries.update', 'entries.publish'],
        )
        for (const [i, r] of rx.requests.filter((q) => q.path === '/all').entries()) {
          assert.equal(r.headers['webhook-id'], toAll[i]!.data.eventId, 'webhook-id is the event id')
          assert.equal(r.headers['content-type'], 'application/json')
        }
        assert.equal(toAll[0]!.timestamp, toAll[0]!.data.wallTime)
        assert.equal(toAll[2]!.data.recordId, e.body.id)
        const toPublish = rx.requests
          .filter((r) => r.path === '/publish')
          .map((r) => verified(onlyPublish.secret, r))
        assert.deepEqual(
          toPublish.map((b) => b.type),
          ['entries.publish'],
        )
        // Another subscription's secret does not verify.
        assert.throws(() => verified(onlyPublish.secret, rx.requests.find((r) => r.path === '/all')!))
        await until(
          async () => (await deliveries(f, all.id, 'succeeded')).length === 3,
          5000,
          'stored as succeeded',
        )
        const d = await deliveries(f, all.id)
        assert.ok(
          d.every((x) => x.attemptCount === 1 && x.attempts.length === 1 && x.attempts[0]!.status === 204),
        )
      } finally {
        await rx.close()
      }
    })

    it('retries failures on the schedule, honours Retry-After, never follows redirects, then dead-letters', async () => {
      let answers = [500, 302, 200]
      const rx = await scriptedReceiver((_req, res) => {
        const status = answers.shift() ?? 200
        res.writeHead(status, status === 302 ? { location: `${rx.origin}/elsewhere` } : {}).end('nope')
      })
      try {
        const type = await noteType(f)
        const hook = await subscribe(f, `${rx.origin}/r`, [`entries.create`])
        await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'retry me' } } })
        await until(
          async () => (await deliveries(f, hook.id, 'succeeded')).length === 1,
          15_000,
          'third attempt',
        )
        const [d] = await deliveries(f, hook.id)
        assert.deepEqual(
          d!.attempts.map((a) => [a.outcome, a.status]),
          [
            ['retry', 500],
            ['retry', 302],
            ['success', 200],
          ],
        )
        assert.equal(
          rx.requests.filter((r) => r.path === '/elsewhere').length,
          0,
          'the redirect was not followed',
        )
        assert.equal(
          new Set(rx.requests.map((r) => r.headers['webhook-id'])).size,
          1,
          'one id across retries',
        )

        // 429 with Retry-After: 1 → the next attempt waits at least a second (the schedule says 50 ms).
        answers = []
        let first = 0
        rx.setAnswer((req, res) => {
          if (req.path !== '/slow') return void res.writeHead(200).end()
          if (first === 0) {
            first = Date.now()
            res.writeHead(429, { 'retry-after': '1' }).end()
          } else res.writeHead(200).end()
        })
        const hook2 = await subscribe(f, `${rx.origin}/slow`, ['entries.create'])
        const before = rx.requests.length
        await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'later' } } })
        await until(
          () => rx.requests.filter((r, i) => i >= before && r.path === '/slow').length === 2,
          15_000,
          '429 retried',
        )
        const slow = rx.requests.filter((r, i) => i >= before && r.path === '/slow')
        assert.equal(slow.length, 2)
        const [d2] = await deliveries(f, hook2.id)
        const gap =
          Date.parse(d2!.attempts[1]?.at ?? new Date().toISOString()) - Date.parse(d2!.attempts[0]!.at)
        assert.ok(gap >= 900, `Retry-After honoured (${gap} ms)`)

        // Always failing: dead after the last attempt of the schedule (3 attempts here).
        rx.setAnswer((_req, res) => res.writeHead(503).end())
        const hook3 = await subscribe(f, `${rx.origin}/dead`, ['entries.create'])
        await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'doomed' } } })
        await until(async () => (await deliveries(f, hook3.id, 'dead')).length === 1, 15_000, 'dead-lettered')
        const [dead] = await deliveries(f, hook3.id, 'dead')
        assert.equal(dead!.attemptCount, 3)
        assert.equal(dead!.nextAttemptAt, null)
      } finally {
        await rx.close()
      }
    })

    it('410 disables the subscription; replay, test ping and secret rotation', async () => {
      const rx = await scriptedReceiver()
      try {
        const type = await noteType(f)
        const hook = await subscribe(f, `${rx.origin}/x`, ['*'])
        await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'a' } } })
        const created = () => rx.requests.filter((r) => JSON.parse(r.body).type === 'entries.create')
        await until(() => created().length === 1)
        const eventId = String(created()[0]!.headers['webhook-id'])

        const replayed = await f.call('POST', `/api/v1/webhooks/${hook.id}/replay`, { body: { eventId } })
        assert.equal(replayed.status, 202)
        assert.deepEqual(replayed.body, { queued: 1 })
        await until(() => created().length === 2)
        assert.equal(created()[1]!.headers['webhook-id'], eventId, 'a replay carries the same id')

        const ping = await f.call('POST', `/api/v1/webhooks/${hook.id}/test`)
        assert.equal(ping.status, 200)
        assert.equal(ping.body.delivered, true)
        assert.equal(verified(hook.secret, rx.requests.at(-1)!).type, 'webhook.ping')

        const rotated = await f.call('POST', `/api/v1/webhooks/${hook.id}/rotate-secret`)
        assert.equal(rotated.status, 200)
        assert.notEqual(rotated.body.secret, hook.secret)
        assert.ok(Date.parse(rotated.body.previousSecretUntil) > Date.now() + 23 * 3600_000)
        await f.call('POST', `/api/v1/webhooks/${hook.id}/test`)
        const signedBoth = rx.requests.at(-1)!
        assert.equal(String(signedBoth.headers['webhook-signature']).split(' ').length, 2, 'two signatures')
        verified(hook.secret, signedBoth)
        verified(rotated.body.secret, signedBoth)
        assert.equal((await f.call('GET', `/api/v1/webhooks/${hook.id}`)).body.secret, undefined)

        rx.setAnswer((_req, res) => res.writeHead(410).end())
        await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'gone' } } })
        await until(
          async () => (await f.call('GET', `/api/v1/webhooks/${hook.id}`)).body.active === false,
          15_000,
          'disabled',
        )
        const shown = (await f.call('GET', `/api/v1/webhooks/${hook.id}`)).body
        assert.match(shown.disabledReason, /410/)
        const history = await f.call('GET', `/api/v1/audit/history/webhooks/${hook.id}`)
        assert.equal(history.status, 200, JSON.stringify(history.body))
        assert.equal(history.body.items.at(-1).actorType, 'system', 'the disable is audited')
      } finally {
        await rx.close()
      }
    })

    it("ordering 'record': a record's later event waits until the earlier one succeeded", async () => {
      let failFirst = 2
      const seen: string[] = []
      const rx = await scriptedReceiver((req, res) => {
        const body = JSON.parse(req.body)
        if (body.type === 'entries.create' && failFirst-- > 0) return void res.writeHead(500).end()
        seen.push(body.type)
        res.writeHead(200).end()
      })
      try {
        const type = await noteType(f)
        await subscribe(f, `${rx.origin}/o`, ['entries.*'])
        const e = await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'o1' } } })
        const url = `/api/v1/entries/${type}/${e.body.id}`
        await f.call('PATCH', url, { body: { data: { title: 'o2' } } })
        await f.call('POST', `${url}/publish`)
        await until(() => seen.length === 3)
        assert.deepEqual(seen, ['entries.create', 'entries.update', 'entries.publish'])
      } finally {
        await rx.close()
      }
    })

    it('an address the policy does not allow is refused at subscription time', async () => {
      const refuse = async (url: string) => {
        const res = await f.call('POST', '/api/v1/webhooks', { body: { url: url, events: ['*'] } })
        assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`)
        assert.equal(res.body.error.details.reason, 'blocked_address', url)
      }
      // 127.0.0.1 is allowed in this suite; every other private form stays blocked.
      for (const url of [
        'http://127.0.0.2/',
        'http://10.0.0.1/',
        'http://[::1]/',
        'http://169.254.169.254/latest',
        'http://0x7f000002/',
        'http://localhost/',
      ])
        await refuse(url)
      assert.equal((await f.call('GET', '/api/v1/webhooks/public-key')).status, 404, 'no Ed25519 key set')
      const badPattern = await f.call('POST', '/api/v1/webhooks', {
        body: { url: 'https://hooks.example.test/', events: ['entry.published'] },
      })
      assert.equal(badPattern.status, 400)
      assert.equal(badPattern.body.error.details.field, 'events')
      void Webhook
    })
  },
  { webhooks: { policy: parseAllowHosts('127.0.0.1'), schedule: [0, 50, 100], timeoutMs: 3000 } },
)
