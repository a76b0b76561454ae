/**
 * Deleting a subscription deletes its delivery records too (deliveries, attempts, health),
 * on every dialect: before, they stayed for ever — operational rows of a subscription that
 * no longer exists, unreachable through the API. Another subscription's records stay.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { forEachHttpDialect } from './http-setup.js'
import { deliveries, noteType, scriptedReceiver, subscribe, until } from './webhook-delivery-support.js'

forEachHttpDialect(
  'webhook deletion',
  (f) => {
    const rows = async (table: string, webhookId: string) =>
      Number(
        (
          (await f.db.readKysely
            .selectFrom(table as never)
            .select((eb) => eb.fn.countAll().as('n'))
            .where('webhook_id' as never, '=', webhookId as never)
            .executeTakeFirstOrThrow()) as { n: unknown }
        ).n,
      )

    it("deleting a subscription deletes its deliveries, attempts and health; another's stay", async () => {
      const rx = await scriptedReceiver((req, res) => res.writeHead(req.path === '/gone' ? 500 : 204).end())
      try {
        const type = await noteType(f)
        const gone = await subscribe(f, `${rx.origin}/gone`, ['entries.*'])
        const kept = await subscribe(f, `${rx.origin}/kept`, ['entries.*'])
        for (let i = 0; i < 3; i++)
          assert.equal(
            (await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: `t${i}` } } })).status,
            201,
          )
        await until(
          async () =>
            (await deliveries(f, kept.id, 'succeeded')).length === 3 &&
            (await deliveries(f, gone.id)).filter((d) => d.attempts.length >= 1).length === 3,
          15_000,
          'deliveries attempted for both',
        )
        assert.equal(await rows('webhook_deliveries', gone.id), 3)
        assert.ok((await rows('webhook_attempts', gone.id)) >= 3)
        assert.equal((await f.call('DELETE', `/api/v1/webhooks/${gone.id}`)).status, 204)
        assert.equal((await f.call('GET', `/api/v1/webhooks/${gone.id}/deliveries`)).status, 404)
        for (const table of ['webhook_deliveries', 'webhook_attempts', 'webhook_health'])
          assert.equal(await rows(table, gone.id), 0, `${table} of the deleted subscription`)
        assert.equal(await rows('webhook_deliveries', kept.id), 3, "the other subscription's deliveries")
        assert.equal(await rows('webhook_attempts', kept.id), 3)
      } finally {
        await rx.close()
      }
    })

    it('a delivery queued for a subscription that no longer exists is dropped when it comes due', async () => {
      // As a fan-out that read the subscription just before its deletion would leave it.
      const ghost = '01ARZ3NDEKTSV4RRFFQ69G5FAV'
      const now = Date.now()
      await f.db.kysely
        .insertInto('webhook_deliveries' as never)
        .values({
          id: '01ARZ3NDEKTSV4RRFFQ69G5FAW',
          dedupe_key: `${ghost} ghost`,
          tenant_id: f.tenantId,
          webhook_id: ghost,
          event_id: '01ARZ3NDEKTSV4RRFFQ69G5FAX',
          feed_pos: 1,
          type: 'entries.create',
          record_key: 'entries x',
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          created_at: now,
          updated_at: now,
        } as never)
        .execute()
      assert.equal(await rows('webhook_deliveries', ghost), 1)
      await until(
        async () => (await rows('webhook_deliveries', ghost)) === 0,
        10_000,
        'the ghost delivery dropped',
      )
    })
  },
  { webhooks: { policy: parseAllowHosts('127.0.0.1'), schedule: [0, 60_000], timeoutMs: 3000, pollMs: 20 } },
)
