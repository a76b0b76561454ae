import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { entries, tenants } from '../packages/cms/src/cms/entities.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { apiToken, forEachHttpDialect, type HttpFixture } from './http-setup.js'

/** Rows that a refused write must leave untouched. */
async function counts(f: HttpFixture): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['change_events', 'entries', 'entry_unique_values', 'content_types']) {
    const row = await f.db.readKysely
      .selectFrom(table)
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    out[table] = Number(row.n)
  }
  return out
}

const ARTICLE = {
  key: 'article',
  name: 'Article',
  fields: [
    { name: 'title', type: 'string', required: true },
    { name: 'slug', type: 'string', unique: true },
    { name: 'body', type: 'text' },
    { name: 'views', type: 'integer' },
    { name: 'rating', type: 'number' },
    { name: 'featured', type: 'boolean' },
    { name: 'publishedOn', type: 'datetime' },
    { name: 'meta', type: 'json' },
    { name: 'category', type: 'enum', options: ['news', 'opinion'] },
    { name: 'related', type: 'reference' },
  ],
}

forEachHttpDialect('http content', (f) => {
  let viewer: string
  let editor: string
  let auditorRole: string

  before(async () => {
    viewer = await apiToken(f, f.tenantId, 'viewer')
    editor = await apiToken(f, f.tenantId, 'editor')
    auditorRole = await apiToken(f, f.tenantId, 'auditor')
    const created = await f.call('POST', '/api/v1/content-types', { body: ARTICLE })
    assert.equal(created.status, 201, JSON.stringify(created.body))
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

  it('invalid data is 400 naming the field, and changes no row and no event', async () => {
    const ref = await f.call('POST', '/api/v1/entries/article', { body: { data: { title: 'target' } } })
    assert.equal(ref.status, 201)
    const cases: [Record<string, unknown>, string][] = [
      [{ title: 'x', colour: 'red' }, 'colour'],
      [{ slug: 'no-title' }, 'title'],
      [{ title: 7 }, 'title'],
      [{ title: 'x'.repeat(1001) }, 'title'],
      [{ title: 'x', body: 'x'.repeat(100_001) }, 'body'],
      [{ title: 'x', views: 1.5 }, 'views'],
      [{ title: 'x', views: 2 ** 53 }, 'views'],
      [{ title: 'x', rating: '4' }, 'rating'],
      [{ title: 'x', featured: 'yes' }, 'featured'],
      [{ title: 'x', publishedOn: 'yesterday' }, 'publishedOn'],
      [{ title: 'x', publishedOn: '2024-02-30T00:00:00Z' }, 'publishedOn'],
      [{ title: 'x', category: 'sports' }, 'category'],
      [{ title: 'x', related: 'not-a-ulid' }, 'related'],
      [{ title: 'x', related: newRecordId() }, 'related'],
    ]
    const before = await counts(f)
    for (const [data, field] of cases) {
      const res = await f.call('POST', '/api/v1/entries/article', { body: { data } })
      assert.equal(res.status, 400, `${field}: ${JSON.stringify(res.body)}`)
      assert.equal(res.body.error.code, 'validation')
      assert.equal(res.body.error.details.field, field, JSON.stringify(res.body.error))
    }
    const url = `/api/v1/entries/article/${ref.body.id}`
    const patchMissing = await f.call('PATCH', url, { body: { data: { title: null } } })
    assert.equal(patchMissing.status, 400)
    assert.equal(patchMissing.body.error.details.field, 'title')
    const patchBad = await f.call('PATCH', url, { body: { data: { category: 'x' } } })
    assert.equal(patchBad.status, 400)
    const schema = await f.call('POST', '/api/v1/entries/article', { body: { data: 'nope' } })
    assert.equal(schema.status, 400)
    const status = await f.call('POST', '/api/v1/entries/article', {
      body: { data: { title: 'x' }, status: 'live' },
    })
    assert.equal(status.status, 400)
    const extra = await f.call('POST', '/api/v1/entries/article', {
      body: { data: { title: 'x' }, id: 'mine' },
    })
    assert.equal(extra.status, 400)
    assert.deepEqual(await counts(f), before)
    assert.equal((await f.call('GET', url)).body.version, 1)
  })

  it('unique fields: duplicates are 409 and roll back; a value is free again after delete or change', async () => {
    const post = (data: Record<string, unknown>) =>
      f.call('POST', '/api/v1/entries/article', { body: { data } })
    const a = await post({ title: 'A', slug: 'shared' })
    assert.equal(a.status, 201)
    const before = await counts(f)
    const dup = await post({ title: 'B', slug: 'shared' })
    assert.equal(dup.status, 409)
    assert.equal(dup.body.error.code, 'conflict')
    assert.equal(dup.body.error.details.field, 'slug')
    assert.deepEqual(await counts(f), before)

    const b = await post({ title: 'B', slug: 'other' })
    assert.equal(b.status, 201)
    const clash = await f.call('PATCH', `/api/v1/entries/article/${b.body.id}`, {
      body: { data: { slug: 'shared' } },
    })
    assert.equal(clash.status, 409)
    // Changing a value frees the old one and keeps the entry's own value usable.
    const moved = await f.call('PATCH', `/api/v1/entries/article/${a.body.id}`, {
      body: { data: { slug: 'moved', title: 'A2' } },
    })
    assert.equal(moved.status, 200)
    const same = await f.call('PATCH', `/api/v1/entries/article/${a.body.id}`, {
      body: { data: { title: 'A3' } },
    })
    assert.equal(same.status, 200, 'an entry never clashes with its own value')
    const reuse = await f.call('PATCH', `/api/v1/entries/article/${b.body.id}`, {
      body: { data: { slug: 'shared' } },
    })
    assert.equal(reuse.status, 200)

    // Deleting frees the value for a new entry.
    assert.equal((await post({ title: 'C', slug: 'moved' })).status, 409)
    assert.equal((await f.call('DELETE', `/api/v1/entries/article/${a.body.id}`)).status, 204)
    const c = await post({ title: 'C', slug: 'moved' })
    assert.equal(c.status, 201)

    // The unique rows share the entry write's transaction.
    const history = await f.auditor.events.list({
      tenantId: f.tenantId,
      table: 'entry_unique_values',
      limit: 1000,
    })
    const cEvents = (await f.auditor.events.history(entries, c.body.id, { tenantId: f.tenantId })).events[0]
    const sameTx = history.events.filter((e) => e.txId === cEvents?.txId)
    assert.equal(sameTx.length, 1)
    assert.equal(sameTx[0]?.newValues?.entry_id, c.body.id)

    // Unique per type and tenant: another type may hold the same value.
    const tag = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'tag', name: 'Tag', fields: [{ name: 'slug', type: 'string', unique: true }] },
    })
    assert.equal(tag.status, 201)
    assert.equal(
      (await f.call('POST', '/api/v1/entries/tag', { body: { data: { slug: 'shared' } } })).status,
      201,
    )
    // Making a field unique while entries exist would leave them unchecked: refused.
    const late = await f.call('PATCH', '/api/v1/content-types/article', {
      body: { fields: ARTICLE.fields.map((x) => (x.name === 'title' ? { ...x, unique: true } : x)) },
    })
    assert.equal(late.status, 409)
  })

  it('unique fields under concurrency: one create wins, the others roll back whole', async () => {
    const before = await counts(f)
    const racers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        f.call('POST', '/api/v1/entries/article', { body: { data: { title: `racer ${i}`, slug: 'race' } } }),
      ),
    )
    const statuses = racers.map((r) => r.status).sort()
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409], JSON.stringify(racers.map((r) => r.body)))
    // Whether the pre-check or the primary key refused it, the client learns the field.
    for (const r of racers.filter((x) => x.status === 409)) assert.equal(r.body.error.details.field, 'slug')
    const after = await counts(f)
    assert.equal(after.entries, (before.entries ?? 0) + 1)
    assert.equal(after.entry_unique_values, (before.entry_unique_values ?? 0) + 1)
    assert.equal(
      after.change_events,
      (before.change_events ?? 0) + 2,
      'one entry event, one unique-value event',
    )
  })

  it('roles: viewers read, editors write entries, only admins write types, auditors read nothing', async () => {
    const entry = await f.call('POST', '/api/v1/entries/article', { body: { data: { title: 'for roles' } } })
    const url = `/api/v1/entries/article/${entry.body.id}`
    for (const path of [
      '/api/v1/content-types',
      '/api/v1/content-types/article',
      '/api/v1/entries/article',
      url,
    ]) {
      assert.equal((await f.call('GET', path, { token: viewer })).status, 200, path)
      assert.equal((await f.call('GET', path, { token: editor })).status, 200, path)
      const denied = await f.call('GET', path, { token: auditorRole })
      assert.equal(denied.status, 403, path)
      assert.equal(denied.body.error.code, 'forbidden')
      assert.equal((await f.call('GET', path, { token: null })).status, 401, path)
    }
    const before = await counts(f)
    const writes: ['POST' | 'PATCH' | 'DELETE', string, unknown][] = [
      ['POST', '/api/v1/content-types', { key: 'viewer_type', name: 'x', fields: [] }],
      ['PATCH', '/api/v1/content-types/article', { name: 'renamed' }],
      ['DELETE', '/api/v1/content-types/article', undefined],
      ['POST', '/api/v1/entries/article', { data: { title: 'x' } }],
      ['PATCH', url, { data: { title: 'x' } }],
      ['POST', `${url}/publish`, undefined],
      ['POST', `${url}/unpublish`, undefined],
      ['DELETE', url, undefined],
    ]
    for (const [method, path, body] of writes) {
      const res = await f.call(method, path, { token: viewer, body })
      assert.equal(res.status, 403, `${method} ${path}`)
    }
    for (const [method, path, body] of writes.slice(0, 3)) {
      assert.equal(
        (await f.call(method, path, { token: editor, body })).status,
        403,
        `editor ${method} ${path}`,
      )
    }
    assert.deepEqual(await counts(f), before)

    const byEditor = await f.call('POST', '/api/v1/entries/article', {
      token: editor,
      body: { data: { title: 'ed' } },
    })
    assert.equal(byEditor.status, 201)
    const edUrl = `/api/v1/entries/article/${byEditor.body.id}`
    assert.equal((await f.call('POST', `${edUrl}/publish`, { token: editor })).status, 200)
    assert.equal((await f.call('DELETE', edUrl, { token: editor })).status, 204)
    const [created] = (await f.auditor.events.history(entries, byEditor.body.id, { tenantId: f.tenantId }))
      .events
    assert.equal(created?.actorType, 'api_token')
  })

  it('tenant isolation: another tenant sees none of these types or entries and writes its own', async () => {
    const otherTenant = newRecordId()
    const now = new Date()
    await f.auditor.create(
      tenants,
      { id: otherTenant, name: `other-${otherTenant}`, limits: null, created_at: now, updated_at: now },
      { tenantId: otherTenant, actorId: 'test-setup', actorType: 'system' },
    )
    const other = await apiToken(f, otherTenant, 'admin')
    const mine = await f.call('POST', '/api/v1/entries/article', {
      body: { data: { title: 'mine', slug: 'iso' } },
    })
    assert.equal(mine.status, 201)
    const url = `/api/v1/entries/article/${mine.body.id}`
    const before = await counts(f)
    assert.equal((await f.call('GET', '/api/v1/content-types/article', { token: other })).status, 404)
    assert.equal((await f.call('GET', '/api/v1/entries/article', { token: other })).status, 404)
    assert.equal((await f.call('GET', url, { token: other })).status, 404)
    assert.equal((await f.call('PATCH', url, { token: other, body: { data: { title: 'x' } } })).status, 404)
    assert.equal((await f.call('POST', `${url}/publish`, { token: other })).status, 404)
    assert.equal((await f.call('DELETE', url, { token: other })).status, 404)
    assert.equal((await f.call('DELETE', '/api/v1/content-types/article', { token: other })).status, 404)
    const list = await f.call('GET', '/api/v1/content-types', { token: other })
    assert.deepEqual(list.body, { items: [], nextCursor: null, hasMore: false })
    assert.deepEqual(await counts(f), before)

    // The same key, the same unique value and a reference check, all within its own tenant.
    const own = await f.call('POST', '/api/v1/content-types', { token: other, body: ARTICLE })
    assert.equal(own.status, 201)
    const theirs = await f.call('POST', '/api/v1/entries/article', {
      token: other,
      body: { data: { title: 'theirs', slug: 'iso' } },
    })
    assert.equal(theirs.status, 201, 'unique values are per tenant')
    const crossRef = await f.call('POST', '/api/v1/entries/article', {
      token: other,
      body: { data: { title: 'x', related: mine.body.id } },
    })
    assert.equal(crossRef.status, 400, 'a reference to another tenant is no entry')
    assert.equal((await f.call('GET', `/api/v1/entries/article/${theirs.body.id}`)).status, 404)
    const stored = await f.db.readKysely
      .selectFrom('entries')
      .select('tenant_id')
      .where('id', '=', theirs.body.id)
      .executeTakeFirstOrThrow()
    assert.equal(stored.tenant_id, otherTenant)
  })
})
