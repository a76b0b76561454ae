/** Content API: invalid data and unique fields (also under concurrency). */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { entries } from '../packages/cms/src/cms/entities.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { ARTICLE, contentSetup, counts } from './http-content-support.js'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http content validation', (f) => {
  before(async () => {
    await contentSetup(f)
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
})
