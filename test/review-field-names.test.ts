/**
 * Review of issue 7 (S7 family): content-type fields may be named like Object.prototype
 * members (`constructor`, `toString`, `valueOf`: the name pattern allows them). An entry
 * without such a field must read as "no value", not as the inherited function.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('review: fields named like Object.prototype members', (f) => {
  before(async () => {
    const made = await f.call('POST', '/api/v1/content-types', {
      body: {
        key: 'proto',
        name: 'Proto',
        fields: [
          { name: 'title', type: 'string' },
          { name: 'constructor', type: 'json', required: true },
          { name: 'toString', type: 'string' },
          { name: 'valueOf', type: 'json', unique: true },
        ],
      },
    })
    assert.equal(made.status, 201, JSON.stringify(made.body))
  })

  it('a required field named "constructor" left out is "is required"', async () => {
    const res = await f.call('POST', '/api/v1/entries/proto', { body: { data: { toString: 'x' } } })
    assert.equal(res.status, 400, JSON.stringify(res.body))
    assert.equal(res.body.error.details.field, 'constructor')
    assert.equal(res.body.error.details.problems[0].problem, 'is required')
  })

  it('optional fields named "toString" and unique "valueOf" may be left out, by any number of entries', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await f.call('POST', '/api/v1/entries/proto', { body: { data: { constructor: i } } })
      assert.equal(res.status, 201, JSON.stringify(res.body))
      assert.deepEqual(res.body.data, { constructor: i })
    }
    const a = await f.call('POST', '/api/v1/entries/proto', {
      body: { data: { constructor: 1, valueOf: 'v' } },
    })
    assert.equal(a.status, 201, JSON.stringify(a.body))
    const b = await f.call('POST', '/api/v1/entries/proto', {
      body: { data: { constructor: 2, valueOf: 'v' } },
    })
    assert.equal(b.status, 409, 'the unique field still holds its value')
  })
})

forEachHttpDialect('review: an own "__proto__" key in entry data', (f) => {
  it('S7: is refused (400) on create and PATCH, not dropped silently', async () => {
    await f.call('POST', '/api/v1/content-types', {
      body: { key: 'plain', name: 'Plain', fields: [{ name: 'title', type: 'string' }] },
    })
    const raw = (payload: string, method: 'POST' | 'PATCH', url: string) =>
      f.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${f.adminToken}`, 'content-type': 'application/json' },
        payload,
      })
    const created = await raw(
      '{"data":{"title":"t","__proto__":{"title":"x"}}}',
      'POST',
      '/api/v1/entries/plain',
    )
    // The body parser refuses it (protoAction 'error'), before any CMS code runs.
    assert.equal(created.statusCode, 400, created.body)
    assert.equal(JSON.parse(created.body).error.code, 'validation')
    const ok = await f.call('POST', '/api/v1/entries/plain', { body: { data: { title: 't' } } })
    const patched = await raw(
      '{"data":{"__proto__":{"title":"x"}}}',
      'PATCH',
      `/api/v1/entries/plain/${ok.body.id}`,
    )
    assert.equal(patched.statusCode, 400, patched.body)
  })
})
