/**
 * Review S: an access request (GET /api/v1/subjects/:id/export) returns the events holding a
 * personal value of the subject — decrypted in full. An entry moved from one subject to
 * another (its subject field changed) has one event holding both: the old state under the
 * first subject's key, the new one under the second's. The first subject's export must not
 * hand out the second subject's personal data.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { forEachHttpDialect } from './http-setup.js'
import { newId } from './setup.js'

forEachHttpDialect('review S: subject export', (f) => {
  const first = `cust-${newId()}`
  const second = `cust-${newId()}`
  const secondEmail = `second-${newId().toLowerCase()}@mail.test`

  before(async () => {
    const type = await f.call('POST', '/api/v1/content-types', {
      body: {
        key: 'account',
        name: 'Account',
        fields: [
          { name: 'owner', type: 'string', subject: true },
          { name: 'email', type: 'string', personal: true },
        ],
      },
    })
    assert.equal(type.status, 201, JSON.stringify(type.body))
    const entry = await f.call('POST', '/api/v1/entries/account', {
      body: { data: { owner: first, email: 'first@mail.test' } },
    })
    assert.equal(entry.status, 201, JSON.stringify(entry.body))
    const moved = await f.call('PATCH', `/api/v1/entries/account/${entry.body.id}`, {
      body: { data: { owner: second, email: secondEmail } },
    })
    assert.equal(moved.status, 200, JSON.stringify(moved.body))
  })

  it("the first subject's export holds none of the second subject's personal values", async () => {
    let res = await f.call('GET', `/api/v1/subjects/${first}/export`)
    for (let i = 0; i < 200 && res.body.count < 2; i++) {
      await new Promise((r) => setTimeout(r, 25))
      res = await f.call('GET', `/api/v1/subjects/${first}/export`)
    }
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.count, 2, 'the create and the move')
    assert.ok(JSON.stringify(res.body).includes('first@mail.test'), 'its own values are there')
    assert.ok(!JSON.stringify(res.body).includes(secondEmail), "another subject's e-mail in the export")
  })
})
