/**
 * Review 9: WEBHOOK_CONCURRENCY may be up to 1024, and the dispatcher claims that many due
 * deliveries at once. A claim of more than 500 deliveries must still be sent (the events are
 * read in chunks the event API accepts), not fail as a whole and leave every claimed
 * delivery stuck in `delivering` until its claim expires — and then fail the same way again.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { forEachHttpDialect } from './http-setup.js'
import { noteType, scriptedReceiver, subscribe, until } from './webhook-delivery-support.js'

const N = 520

forEachHttpDialect(
  'review9: a claim wider than 500',
  (f) => {
    it(`sends ${N} due deliveries claimed together`, async () => {
      const rx = await scriptedReceiver()
      try {
        const type = await noteType(f)
        const hook = await subscribe(f, `${rx.origin}/w`, ['entries.create'], { ordering: 'none' })
        await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'wide' } } })
        await until(() => rx.requests.length === 1, 15_000, 'the first delivery')
        const eventId = String(rx.requests[0]!.headers['webhook-id'])
        // Switched off while the replays are queued, so that they are all due, and claimed, together.
        const off = await f.call('PATCH', `/api/v1/webhooks/${hook.id}`, { body: { active: false } })
        assert.equal(off.status, 200)
        const store = f.webhooks!.store
        const queued = await store.enqueue(
          Array.from({ length: N }, (_, i) => ({
            tenantId: f.tenantId,
            webhookId: hook.id,
            eventId,
            feedPos: 0n,
            type: 'entries.create',
            recordKey: `${type}:${i}`,
            replay: `wide${i}`,
          })),
        )
        assert.equal(queued, N)
        const on = await f.call('PATCH', `/api/v1/webhooks/${hook.id}`, { body: { active: true } })
        assert.equal(on.status, 200)
        await until(() => rx.requests.length >= N + 1, 20_000, `${N} more deliveries`)
      } finally {
        await rx.close()
      }
    })
  },
  {
    webhooks: {
      policy: parseAllowHosts('127.0.0.1'),
      schedule: [0, 100],
      concurrency: 1024,
      timeoutMs: 5000,
      pollMs: 100,
    },
  },
)
