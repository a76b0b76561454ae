/** HTTP fuzzing: the per-dialect setup (ids of two tenants and real events) and the runner that fuzzes a list of routes. */
import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import fc from 'fast-check'
import type { Role } from '../packages/cms/src/cms/entities.js'
import { api, type Route } from './fuzz-route-kit.js'
import { allRoutes } from './fuzz-routes.js'
import { exercise, type Known, NUM_RUNS, SEED } from './fuzz-support.js'
import { ADMIN, forEachHttpDialect, apiToken as sharedApiToken } from './http-setup.js'

export const ARTICLE_FIELDS = [
  { name: 'title', type: 'string', required: true },
  { name: 'slug', type: 'string', unique: true },
  { name: 'body', type: 'text' },
  { name: 'count', type: 'integer' },
  { name: 'score', type: 'number' },
  { name: 'flag', type: 'boolean' },
  { name: 'when', type: 'datetime' },
  { name: 'meta', type: 'json' },
  { name: 'kind', type: 'enum', options: ['a', 'b', 'c'] },
  { name: 'ref', type: 'reference' },
]

/** Fuzzes `routes` on every dialect, after seeding two tenants with records and real events. */
export function fuzzRoutes(title: string, routes: (K: Known) => Route[]): void {
  forEachHttpDialect(title, (f) => {
    const K = {} as Known
    let started = 0

    before(async () => {
      started = Date.now()
      const ok = async (method: 'GET' | 'POST', url: string, body?: unknown, token = f.adminToken) => {
        const res = await f.call(method, url, { token, ...(body === undefined ? {} : { body }) })
        assert.ok(
          res.status === 200 || res.status === 201,
          `setup ${method} ${url}: ${JSON.stringify(res.body)}`,
        )
        return res.body
      }
      const apiToken = (role: Role) => sharedApiToken(f, f.tenantId, role)

      // Another tenant, with records whose ids this tenant must not reach.
      const other = await ok('POST', api('tenants'), { name: 'other tenant' })
      const ot: string = other.adminToken
      K.otherTenantId = other.tenant.id
      await ok('POST', api('content-types'), { key: 'other_type', name: 'Other', fields: [] }, ot)
      K.otherEntryId = (await ok('POST', api('entries', 'other_type'), { data: {} }, ot)).id
      K.otherWebhookId = (
        await ok('POST', api('webhooks'), { url: 'https://o.example/h', events: ['*'] }, ot)
      ).id
      K.otherUserId = (
        await ok(
          'POST',
          api('users'),
          { email: 'other@example.test', password: 'password-1', role: 'editor' },
          ot,
        )
      ).id
      K.otherTokenId = (await ok('POST', api('tokens'), { name: 'other', role: 'viewer' }, ot)).id
      K.otherEventId = (await ok('GET', `${api('audit', 'events')}?limit=1`, undefined, ot)).items[0].eventId

      K.tokens = {
        admin: f.adminToken,
        viewer: await apiToken('viewer'),
        editor: await apiToken('editor'),
        auditor: await apiToken('auditor'),
        other: ot,
      }
      K.tenantId = f.tenantId
      await ok('POST', api('content-types'), { key: 'article', name: 'Article', fields: ARTICLE_FIELDS })
      await ok('POST', api('content-types'), {
        key: 'scratch',
        name: 'Scratch',
        fields: [{ name: 'x', type: 'string' }],
      })
      await ok('POST', api('content-types'), { key: 'scratch_drop', name: 'Drop me', fields: [] })
      const entry = await ok('POST', api('entries', 'article'), {
        data: { title: 'Hello', slug: 'hello', count: 1, meta: { a: [1, 2] }, kind: 'a' },
      })
      K.entryId = entry.id
      K.spareEntryIds = []
      for (let i = 0; i < 3; i++) {
        const data = { title: `Spare ${i}`, slug: `spare-${i}`, ref: K.entryId }
        K.spareEntryIds.push((await ok('POST', api('entries', 'article'), { data, locale: 'fr' })).id)
      }
      K.localeId = (await ok('POST', api('locales'), { code: 'fr', name: 'French' })).id
      K.mediaId = (
        await ok('POST', api('media'), {
          filename: 'a.png',
          mime: 'image/png',
          size: 12,
          checksum: 'sha256:abcdefgh',
          url: 'https://cdn.example/a.png',
        })
      ).id
      K.webhookId = (
        await ok('POST', api('webhooks'), { url: 'https://h.example/1', events: ['entries.*'] })
      ).id
      K.spareWebhookIds = []
      for (let i = 0; i < 2; i++) {
        K.spareWebhookIds.push(
          (await ok('POST', api('webhooks'), { url: `https://h.example/s${i}`, events: ['*'] })).id,
        )
      }
      K.userIds = []
      for (let i = 0; i < 3; i++) {
        const body = {
          email: `fuzz${i}@example.test`,
          password: 'password-123',
          role: i === 0 ? 'admin' : 'editor',
        }
        K.userIds.push((await ok('POST', api('users'), body)).id)
      }
      K.tokenIds = []
      for (let i = 0; i < 3; i++)
        K.tokenIds.push((await ok('POST', api('tokens'), { name: `t${i}`, role: 'viewer' })).id)
      const users = await ok('GET', `${api('users')}?limit=200`)
      K.adminUserId = users.items.find((u: { email: string }) => u.email === ADMIN.email).id
      const events = await ok('GET', `${api('audit', 'events')}?limit=200`)
      K.events = events.items.map((e: { eventId: string; table: string; recordId: string }) => ({
        eventId: e.eventId,
        table: e.table,
        recordId: e.recordId,
      }))
      K.cursor = (await ok('GET', `${api('audit', 'events')}?limit=1`)).nextCursor
      assert.ok(K.events.length > 10 && typeof K.cursor === 'string')
    })

    // The generators need the ids, so each test builds its own after `before` has run; the
    // titles are known up front (routes() only reads K inside the arbitraries it returns).
    // A route's seed is FUZZ_SEED + its index in allRoutes(), as in the former single suite.
    const order = allRoutes(placeholder()).map(([t]) => t)
    const titles = routes(placeholder()).map(([title]) => title)
    for (const title of titles) {
      const i = order.indexOf(title)
      assert.ok(i >= 0, `route "${title}" is missing from allRoutes()`)
      it(`fuzz ${title}`, async () => {
        const arb = routes(K).find(([t]) => t === title)![1]
        await fc.assert(
          fc.asyncProperty(arb, (req) => exercise(f, req)),
          { seed: SEED + i, numRuns: NUM_RUNS, includeErrorInReport: true },
        )
      })
    }

    // The run time is reported, not asserted (speed belongs in benchmarks).
    after(() => {
      process.stderr.write(`${title} [${f.name}]: ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
    })
  })
}

/** Ids shaped like the real ones, only to list the route titles before setup runs. */
export function placeholder(): Known {
  const id = '01HZZZZZZZZZZZZZZZZZZZZZZZ'
  return {
    tokens: { admin: 'x', viewer: 'x', editor: 'x', auditor: 'x', other: 'x' },
    tenantId: id,
    otherTenantId: id,
    adminUserId: id,
    userIds: [id],
    otherUserId: id,
    tokenIds: [id],
    otherTokenId: id,
    entryId: id,
    spareEntryIds: [id],
    otherEntryId: id,
    webhookId: id,
    spareWebhookIds: [id],
    otherWebhookId: id,
    mediaId: id,
    localeId: id,
    events: [{ eventId: id, table: 'entries', recordId: id }],
    otherEventId: id,
    cursor: id,
  }
}
