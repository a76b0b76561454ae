/**
 * R5 (issue 7): entry lists are one keyset page over an index in their order
 * (src/cms/entry-list.ts). The answers stay what they were: every filter, every page, in
 * id order, with the other types and tenants' entries never showing.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { entries } from '../packages/cms/src/cms/entities.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { forEachHttpDialect } from './http-setup.js'

interface Listed {
  id: string
  status: string
  locale: string
}

forEachHttpDialect('R5 entry lists', (f) => {
  const made: Listed[] = []
  before(async () => {
    for (const key of ['book', 'film']) {
      const res = await f.call('POST', '/api/v1/content-types', {
        body: { key, name: key, fields: [{ name: 'n', type: 'integer' }] },
      })
      assert.equal(res.status, 201)
    }
    const statuses = ['draft', 'published', 'archived'] as const
    const locales = ['en', 'de', 'fr-CA']
    for (let i = 0; i < 37; i++) {
      const body = { data: { n: i }, status: statuses[i % 3], locale: locales[(i * 7) % 3] }
      const res = await f.call('POST', '/api/v1/entries/book', { body })
      assert.equal(res.status, 201)
      made.push({ id: res.body.id, status: res.body.status, locale: res.body.locale })
      // entries of another type and of another tenant, interleaved in id order
      if (i % 4 === 0) await f.call('POST', '/api/v1/entries/film', { body })
      if (i % 5 === 0) {
        const now = new Date()
        await f.auditor.create(
          entries,
          {
            id: newRecordId(),
            type: 'book',
            locale: 'en',
            status: 'draft',
            data: { n: i },
            created_at: now,
            updated_at: now,
          },
          { tenantId: 'another-tenant', actorId: 'system', actorType: 'system' },
        )
      }
    }
  })

  /** Every page of one query, following nextCursor. */
  const allPages = async (query: string, limit: number) => {
    const pages: string[][] = []
    let after: string | null = null
    for (;;) {
      const cursor: string = after === null ? '' : `&after=${after}`
      const res = await f.call('GET', `/api/v1/entries/book?limit=${limit}${query}${cursor}`)
      assert.equal(res.status, 200, JSON.stringify(res.body))
      pages.push(res.body.items.map((e: { id: string }) => e.id))
      for (const e of res.body.items) assert.equal(e.type, 'book')
      after = res.body.nextCursor
      if (after === null) return pages
      assert.equal(after, pages.at(-1)!.at(-1))
    }
  }

  it('R5: the same pages in id order for every filter and page size', async () => {
    const sorted = [...made].sort((x, y) => (x.id < y.id ? -1 : 1))
    const filters: [string, (e: Listed) => boolean][] = [
      ['', () => true],
      ['&status=published', (e) => e.status === 'published'],
      ['&status=draft', (e) => e.status === 'draft'],
      ['&locale=de', (e) => e.locale === 'de'],
      ['&status=archived&locale=fr-CA', (e) => e.status === 'archived' && e.locale === 'fr-CA'],
      ['&status=published&locale=xx', () => false],
    ]
    for (const [query, keep] of filters) {
      const expected = sorted.filter(keep).map((e) => e.id)
      for (const limit of [1, 5, 50]) {
        const pages = await allPages(query, limit)
        assert.deepEqual(pages.flat(), expected, `${query} limit=${limit}`)
        for (const page of pages.slice(0, -1)) assert.equal(page.length, limit)
        // a full last page still says so with a null cursor only when nothing follows
        assert.ok(pages.at(-1)!.length <= limit)
      }
    }
  })

  it('R5: a cursor inside the list starts right after it, also one that names no entry', async () => {
    const sorted = [...made].sort((x, y) => (x.id < y.id ? -1 : 1)).map((e) => e.id)
    const mid = sorted[17]!
    const res = await f.call('GET', `/api/v1/entries/book?limit=3&after=${mid}`)
    assert.deepEqual(
      res.body.items.map((e: { id: string }) => e.id),
      sorted.slice(18, 21),
    )
    const gap = `${mid.slice(0, 25)}${mid.at(-1) === 'Z' ? 'Y' : 'Z'}`
    const next = sorted.filter((id) => id > gap).slice(0, 2)
    const res2 = await f.call('GET', `/api/v1/entries/book?limit=2&after=${gap}`)
    assert.deepEqual(
      res2.body.items.map((e: { id: string }) => e.id),
      next,
    )
    // items are the entries as GET /entries/:type/:id shows them
    const one = await f.call('GET', `/api/v1/entries/book/${sorted[0]}`)
    const first = await f.call('GET', '/api/v1/entries/book?limit=1')
    assert.deepEqual(first.body.items[0], one.body)
  })
})
