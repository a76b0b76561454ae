/**
 * Review of issue 8 (error reasons, same situation → same answer on every database): the
 * CMS tables compare text exactly on MySQL/MariaDB too, as the engine's change_events do
 * since library migration 3. MariaDB's collations pad trailing spaces (even `utf8mb4_bin`;
 * its server default also folds case and accents), so a tenant named `acme ` next to
 * `acme` was a 409 `conflict` / `unique` there and a 201 on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('review: CMS text compares exactly on every dialect', (f) => {
  it('tenants "x" and "x " are two tenants everywhere', async () => {
    const name = `exact-${process.pid}-${Date.now()}`
    const ids: string[] = []
    for (const spelling of [name, `${name} `]) {
      const res = await f.call('POST', '/api/v1/tenants', { body: { name: spelling } })
      assert.equal(res.status, 201, `${JSON.stringify(spelling)}: ${JSON.stringify(res.body)}`)
      ids.push(res.body.tenant.id)
    }
    for (const [i, id] of ids.entries()) {
      const res = await f.call('GET', `/api/v1/tenants/${id}`)
      assert.equal(res.body.name, i === 0 ? name : `${name} `)
    }
  })
})
