/**
 * Review S: the subject routes keep to the caller's tenant and role. Another tenant's admin
 * neither erases nor exports a subject of this tenant (404: its tenant holds nothing of
 * it), and this tenant's subject is untouched afterwards; an auditor may do neither (403); a
 * tenant admin who is not a platform admin cannot erase a platform account (403).
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { newTenant } from './http-audit-support.js'
import { apiToken, forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('review S: subject routes across tenants and roles', (f) => {
  let userId = ''
  let platformId = ''
  const t = { otherAdmin: '', auditor: '', admin: '' }

  before(async () => {
    t.otherAdmin = await apiToken(f, await newTenant(f, 'elsewhere'), 'admin')
    t.auditor = await apiToken(f, f.tenantId, 'auditor')
    t.admin = await apiToken(f, f.tenantId, 'admin')
    const created = await f.call('POST', '/api/v1/users', {
      body: { email: 'iso@example.test', name: 'Iso Person', password: 'a long password', role: 'viewer' },
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    userId = created.body.id
    platformId = (await f.call('GET', '/api/v1/me')).body.userId
  })

  it("another tenant's admin neither erases nor exports this tenant's subject", async () => {
    for (const [method, url] of [
      ['POST', `/api/v1/subjects/${userId}/erase`],
      ['GET', `/api/v1/subjects/${userId}/export`],
    ] as const) {
      const res = await f.call(method, url, { token: t.otherAdmin })
      assert.equal(res.status, 404, `${method} ${url}: ${JSON.stringify(res.body)}`)
    }
    const user = await f.call('GET', `/api/v1/users/${userId}`)
    assert.equal(user.body.email, 'iso@example.test')
    let exported = await f.call('GET', `/api/v1/subjects/${userId}/export`)
    for (let i = 0; i < 200 && exported.body.count < 1; i++) {
      await new Promise((r) => setTimeout(r, 25))
      exported = await f.call('GET', `/api/v1/subjects/${userId}/export`)
    }
    assert.ok(JSON.stringify(exported.body).includes('iso@example.test'), 'the history still opens')
  })

  it('an auditor may neither erase nor export', async () => {
    for (const [method, url] of [
      ['POST', `/api/v1/subjects/${userId}/erase`],
      ['GET', `/api/v1/subjects/${userId}/export`],
    ] as const)
      assert.equal((await f.call(method, url, { token: t.auditor })).status, 403, `${method} ${url}`)
  })

  it('a tenant admin cannot erase a platform account', async () => {
    const res = await f.call('POST', `/api/v1/subjects/${platformId}/erase`, { token: t.admin })
    assert.equal(res.status, 403, JSON.stringify(res.body))
    const me = await f.call('GET', '/api/v1/me')
    assert.equal(me.status, 200, 'the platform admin still signs in')
  })
})
