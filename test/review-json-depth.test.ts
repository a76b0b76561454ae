/**
 * Review of issue 7 (R11: same input, same answer on every database). MariaDB stores JSON
 * in a LONGTEXT checked by `json_valid`, which refuses nesting deeper than 32 levels; the
 * change event wraps a row's column values in one more object. SQLite and PostgreSQL stored
 * entry data nested 31–200 levels deep, MariaDB answered "A field value breaks a check".
 * One rule now: an event's row nests at most 31 levels (so a column value 30), anything
 * deeper a `validation` error naming where, on every dialect.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { forEachHttpDialect } from './http-setup.js'

/** `{"data":{"blob":[[…]]}}` with `arrays` nested arrays: the `data` column is arrays + 1 deep. */
const deepEntry = (arrays: number) => `{"data":{"blob":${'['.repeat(arrays)}${']'.repeat(arrays)}}}`

forEachHttpDialect('review: JSON nesting depth', (f) => {
  before(async () => {
    const made = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'deep', name: 'Deep', fields: [{ name: 'blob', type: 'json' }] },
    })
    assert.equal(made.status, 201, JSON.stringify(made.body))
  })
  const post = (payload: string) =>
    f.app.inject({
      method: 'POST',
      url: '/api/v1/entries/deep',
      headers: { authorization: `Bearer ${f.adminToken}`, 'content-type': 'application/json' },
      payload,
    })

  it('a value 30 levels deep is stored on every database; 31 levels is refused alike, naming the field', async () => {
    const ok = await post(deepEntry(29))
    assert.equal(ok.statusCode, 201, ok.body)
    for (const arrays of [30, 60, 150]) {
      const res = await post(deepEntry(arrays))
      assert.equal(res.statusCode, 400, res.body)
      const error = JSON.parse(res.body).error
      assert.equal(error.code, 'validation')
      assert.match(String(error.details?.path), /^(\$\.)?data\.blob/, res.body.slice(0, 300))
    }
  })
})
