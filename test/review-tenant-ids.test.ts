/**
 * Review of issue 7 (tenancy, R11 parity): the engine's own tables compare ids exactly on
 * every dialect. Tenant ids, record ids and actor ids are the caller's strings: `acme` and
 * `ACME`, or `muller` and `müller`, are different tenants. MariaDB's default collation
 * (`utf8mb4_general_ci`) folds case and accents and pads trailing spaces, so a query for
 * one tenant's events returned another's.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { ctx, forEachDialect, newId, posts } from './setup.js'

forEachDialect('review: tenant ids are compared exactly', (f) => {
  it("a tenant's events are never listed, fetched or shown in history for a look-alike tenant id", async () => {
    const id = newId()
    const acme = { ...ctx, tenantId: 'müller' }
    await f.auditor.create(posts, { id, title: 't' }, acme)
    for (const other of ['MÜLLER', 'muller', 'müller ']) {
      const page = await f.auditor.events.list({ tenantId: other })
      assert.deepEqual(page.events, [], `events of "müller" listed for ${JSON.stringify(other)}`)
      const history = await f.auditor.events.history(posts, id, { tenantId: other })
      assert.deepEqual(history.events, [], `history of "müller" shown for ${JSON.stringify(other)}`)
    }
    const [event] = (await f.auditor.events.list({ tenantId: 'müller' })).events
    assert.ok(event !== undefined)
    await assert.rejects(f.auditor.events.get(event.eventId, { tenantId: 'MÜLLER' }), { code: 'not_found' })
  })
})
