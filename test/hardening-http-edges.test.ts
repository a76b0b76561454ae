/**
 * HTTP edges of issue 7: an empty JSON body where none is needed (R12), answers at the
 * HTTP layer in the catalogue envelope (R11).
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http edges', (f) => {
  it('R12: DELETE and publish sent with Content-Type: application/json and no body are accepted', async () => {
    const json = { 'content-type': 'application/json' }
    const type = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'note', name: 'Note', fields: [{ name: 'title', type: 'string', required: true }] },
    })
    assert.equal(type.status, 201, JSON.stringify(type.body))
    const entry = await f.call('POST', '/api/v1/entries/note', { body: { data: { title: 'hello' } } })
    assert.equal(entry.status, 201, JSON.stringify(entry.body))
    const url = `/api/v1/entries/note/${entry.body.id}`
    const published = await f.call('POST', `${url}/publish`, { headers: json })
    assert.equal(published.status, 200, JSON.stringify(published.body))
    assert.equal(published.body.status, 'published')
    const deleted = await f.call('DELETE', url, { headers: json })
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body))
    assert.equal((await f.call('GET', url)).status, 404)
    // a body that is there must still be JSON, and a route that needs one still says so
    const broken = await f.call('POST', '/api/v1/locales', { headers: json, body: undefined })
    assert.equal(broken.status, 400)
    assert.equal(broken.body.error.code, 'validation')
    const malformed = await f.app.inject({
      method: 'POST',
      url: '/api/v1/locales',
      headers: { ...json, authorization: `Bearer ${f.adminToken}` },
      payload: '{"code":',
    })
    assert.equal(malformed.statusCode, 400)
    assert.equal(JSON.parse(malformed.body).error.code, 'validation')
  })
})
