/** Content API: content types and entries, create to delete. */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { entries } from '../packages/cms/src/cms/entities.js'
import { contentSetup, counts } from './http-content-support.js'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http content crud', (f) => {
  before(async () => {
    await contentSetup(f)
  })

  it('content types: create, read, list, patch with version, validation, duplicate key, delete', async () => {
    const made = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'page', name: 'Page', fields: [{ name: 'heading', type: 'string', required: true }] },
    })
    assert.equal(made.status, 201)
    assert.equal(made.body.key, 'page')
    assert.equal(made.body.version, 1)
    assert.deepEqual(made.body.fields, [{ name: 'heading', type: 'string', required: true, unique: false }])
    assert.equal(made.body.tenantId, undefined)
    assert.match(made.body.id, /^[0-9A-Z]{26}$/)
    assert.ok(Date.parse(made.body.createdAt) > 0)

    const got = await f.call('GET', '/api/v1/content-types/page')
    assert.equal(got.status, 200)
    assert.deepEqual(got.body, made.body)

    const dup = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'page', name: 'Again', fields: [] },
    })
    assert.equal(dup.status, 409)
    assert.equal(dup.body.error.code, 'conflict')

    const patched = await f.call('PATCH', '/api/v1/content-types/page', {
      body: { name: 'Landing page', version: 1, fields: [{ name: 'heading', type: 'text' }] },
    })
    assert.equal(patched.status, 200)
    assert.equal(patched.body.name, 'Landing page')
    assert.equal(patched.body.version, 2)
    assert.equal(patched.body.fields[0].type, 'text')
    const stale = await f.call('PATCH', '/api/v1/content-types/page', { body: { name: 'x', version: 1 } })
    assert.equal(stale.status, 409)

    const page1 = await f.call('GET', '/api/v1/content-types?limit=1')
    assert.equal(page1.status, 200, JSON.stringify(page1.body))
    assert.equal(page1.body.items.length, 1)
    assert.equal(typeof page1.body.nextCursor, 'string')
    const page2 = await f.call('GET', `/api/v1/content-types?limit=10&after=${page1.body.nextCursor}`)
    const keys = [...page1.body.items, ...page2.body.items].map((t: { key: string }) => t.key)
    assert.deepEqual(keys.sort(), ['article', 'page'])
    assert.equal(page2.body.nextCursor, null)

    const bad: [unknown, string][] = [
      [{ key: 'Bad-Key', name: 'x', fields: [] }, 'key pattern'],
      [{ key: 'ok_key', name: 'x', fields: [{ name: '1abc', type: 'string' }] }, 'field name pattern'],
      [{ key: 'ok_key', name: 'x', fields: [{ name: 'a', type: 'colour' }] }, 'field type'],
      [
        {
          key: 'ok_key',
          name: 'x',
          fields: [
            { name: 'a', type: 'string' },
            { name: 'a', type: 'text' },
          ],
        },
        'duplicate field',
      ],
      [{ key: 'ok_key', name: 'x', fields: [{ name: 'a', type: 'enum' }] }, 'enum without options'],
      [{ key: 'ok_key', name: 'x', fields: [{ name: 'a', type: 'enum', options: [] }] }, 'empty options'],
      [
        { key: 'ok_key', name: 'x', fields: [{ name: 'a', type: 'string', options: ['x'] }] },
        'options on string',
      ],
      [
        {
          key: 'ok_key',
          name: 'x',
          fields: Array.from({ length: 101 }, (_, i) => ({ name: `f${i}`, type: 'string' })),
        },
        '101 fields',
      ],
    ]
    const beforeBad = await counts(f)
    for (const [body, why] of bad) {
      const res = await f.call('POST', '/api/v1/content-types', { body })
      assert.equal(res.status, 400, why)
      assert.equal(res.body.error.code, 'validation', why)
    }
    assert.deepEqual(await counts(f), beforeBad)
    const hundred = await f.call('POST', '/api/v1/content-types', {
      body: {
        key: 'wide',
        name: 'Wide',
        fields: Array.from({ length: 100 }, (_, i) => ({ name: `f${i}`, type: 'string' })),
      },
    })
    assert.equal(hundred.status, 201)

    assert.equal((await f.call('DELETE', '/api/v1/content-types/page')).status, 204)
    assert.equal((await f.call('GET', '/api/v1/content-types/page')).status, 404)
    assert.equal((await f.call('DELETE', '/api/v1/content-types/page')).status, 404)
    assert.equal((await f.call('GET', '/api/v1/content-types/nothing')).status, 404)
    assert.equal((await f.call('GET', '/api/v1/entries/nothing')).status, 404)
    assert.equal((await f.call('POST', '/api/v1/entries/nothing', { body: { data: {} } })).status, 404)
  })

  it('entries: create, list with filters and pages, get, patch, stale version, publish, unpublish, delete', async () => {
    const post = (body: unknown) => f.call('POST', '/api/v1/entries/article', { body })
    const first = await post({ data: { title: 'First', slug: 'first', views: 3, category: 'news' } })
    assert.equal(first.status, 201, JSON.stringify(first.body))
    assert.deepEqual(Object.keys(first.body).sort(), [
      'createdAt',
      'data',
      'id',
      'locale',
      'status',
      'type',
      'updatedAt',
      'version',
    ])
    assert.equal(first.body.type, 'article')
    assert.equal(first.body.locale, 'en')
    assert.equal(first.body.status, 'draft')
    assert.equal(first.body.version, 1)
    assert.deepEqual(first.body.data, { title: 'First', slug: 'first', views: 3, category: 'news' })

    const second = await post({
      data: {
        title: 'Zweiter',
        related: first.body.id,
        rating: 4.5,
        featured: true,
        publishedOn: '2024-05-01T10:00:00Z',
        meta: { tags: ['a', 'b'], nested: { n: 1 } },
      },
      locale: 'de',
      status: 'published',
    })
    assert.equal(second.status, 201, JSON.stringify(second.body))
    assert.equal(second.body.status, 'published')
    assert.deepEqual(second.body.data.meta, { tags: ['a', 'b'], nested: { n: 1 } })
    const third = await post({ data: { title: 'Third', body: 'long text '.repeat(500) } })
    assert.equal(third.status, 201)

    const all = await f.call('GET', '/api/v1/entries/article')
    assert.equal(all.status, 200)
    assert.deepEqual(
      all.body.items.map((e: { id: string }) => e.id),
      [first.body.id, second.body.id, third.body.id],
    )
    const drafts = await f.call('GET', '/api/v1/entries/article?status=draft')
    assert.deepEqual(
      drafts.body.items.map((e: { id: string }) => e.id),
      [first.body.id, third.body.id],
    )
    const german = await f.call('GET', '/api/v1/entries/article?locale=de')
    assert.deepEqual(
      german.body.items.map((e: { id: string }) => e.id),
      [second.body.id],
    )
    const none = await f.call('GET', '/api/v1/entries/article?locale=de&status=draft')
    assert.deepEqual(none.body, { items: [], nextCursor: null, hasMore: false })
    const p1 = await f.call('GET', '/api/v1/entries/article?limit=2')
    assert.equal(p1.body.items.length, 2)
    assert.equal(p1.body.nextCursor, second.body.id)
    const p2 = await f.call('GET', `/api/v1/entries/article?limit=2&after=${p1.body.nextCursor}`)
    assert.deepEqual(
      p2.body.items.map((e: { id: string }) => e.id),
      [third.body.id],
    )
    assert.equal(p2.body.nextCursor, null)
    assert.equal((await f.call('GET', '/api/v1/entries/article?status=gone')).status, 400)

    const url = `/api/v1/entries/article/${first.body.id}`
    const got = await f.call('GET', url)
    assert.equal(got.status, 200)
    assert.deepEqual(got.body, first.body)

    // data is merged over the stored data; null removes a key.
    const patched = await f.call('PATCH', url, {
      body: { data: { title: 'First, edited', views: null }, locale: 'fr', version: 1 },
    })
    assert.equal(patched.status, 200, JSON.stringify(patched.body))
    assert.equal(patched.body.version, 2)
    assert.equal(patched.body.locale, 'fr')
    assert.deepEqual(patched.body.data, { title: 'First, edited', slug: 'first', category: 'news' })
    assert.ok(Date.parse(patched.body.updatedAt) >= Date.parse(first.body.updatedAt))
    assert.equal(patched.body.createdAt, first.body.createdAt)

    const beforeStale = await counts(f)
    const stale = await f.call('PATCH', url, { body: { data: { title: 'lost' }, version: 1 } })
    assert.equal(stale.status, 409)
    assert.equal(stale.body.error.code, 'conflict')
    assert.deepEqual(await counts(f), beforeStale)
    assert.equal((await f.call('GET', url)).body.data.title, 'First, edited')

    const published = await f.call('POST', `${url}/publish`)
    assert.equal(published.status, 200, JSON.stringify(published.body))
    assert.equal(published.body.status, 'published')
    assert.equal(published.body.version, 3)
    const again = await f.call('POST', `${url}/publish`, { body: {} })
    assert.equal(again.status, 200)
    assert.equal(again.body.version, 3, 'publishing a published entry writes nothing')
    assert.equal((await f.call('POST', `${url}/unpublish`, { body: { version: 1 } })).status, 409)
    const unpublished = await f.call('POST', `${url}/unpublish`, { body: { version: 3 } })
    assert.equal(unpublished.status, 200)
    assert.equal(unpublished.body.status, 'draft')

    const history = (await f.auditor.events.history(entries, first.body.id, { tenantId: f.tenantId })).events
    assert.deepEqual(
      history.map((e) => e.action),
      ['create', 'update', 'publish', 'unpublish'],
    )
    assert.ok(history.every((e) => e.tenantId === f.tenantId && e.actorType === 'user'))

    assert.equal((await f.call('DELETE', url)).status, 204)
    assert.equal((await f.call('GET', url)).status, 404)
    assert.equal((await f.call('PATCH', url, { body: { data: { title: 'x' } } })).status, 404)
    assert.equal((await f.call('DELETE', url)).status, 404)
    const deleted = (await f.auditor.events.history(entries, first.body.id, { tenantId: f.tenantId })).events
    assert.equal(deleted.at(-1)?.action, 'delete')
    // The entry is gone, so "first" no longer references anything valid.
    const dangling = await post({ data: { title: 'x', related: first.body.id } })
    assert.equal(dangling.status, 400)

    // A type with entries cannot be deleted.
    const refused = await f.call('DELETE', '/api/v1/content-types/article')
    assert.equal(refused.status, 409)
    assert.equal((await f.call('GET', '/api/v1/content-types/article')).status, 200)
  })
})
