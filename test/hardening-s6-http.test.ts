/**
 * S6 (HTTP part): the client IP recorded with a write is always a valid address, whatever a
 * trusted proxy's `X-Forwarded-For` says; `TRUST_PROXY` is parsed as documented.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { isAuditedError } from '../packages/audited/src/core/errors.js'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { buildApp } from '../packages/cms/src/server/app.js'
import { loadConfig, parseTrustProxy } from '../packages/cms/src/server/config.js'
import { forEachHttpDialect } from './http-setup.js'
import { PERSONAL_DATA } from './setup.js'

forEachHttpDialect('S6 client IP', (f) => {
  it('S6: with TRUST_PROXY a long or garbage X-Forwarded-For records the socket address; a valid one is recorded', async () => {
    const app = buildApp({ db: f.db, auditor: f.auditor, trustProxy: true })
    try {
      const write = async (code: string, forwarded: string) => {
        const res = await app.inject({
          method: 'POST',
          url: '/api/v1/locales',
          headers: {
            authorization: `Bearer ${f.adminToken}`,
            'content-type': 'application/json',
            'x-forwarded-for': forwarded,
          },
          payload: JSON.stringify({ code, name: code }),
        })
        assert.equal(res.statusCode, 201, res.body)
        const events = await f.call('GET', '/api/v1/audit/events?table=locales&limit=100')
        const event = events.body.items.find(
          (e: { newValues?: { code?: string } }) => e.newValues?.code === code,
        ) as { ip?: string } | undefined
        return event?.ip
      }
      assert.equal(await write('fr', 'x'.repeat(300)), '127.0.0.1', 'garbage: the socket address')
      assert.equal(await write('de', `${'1'.repeat(70)}, 10.0.0.1`), '127.0.0.1', 'over-long entry')
      assert.equal(await write('it', '203.0.113.9'), '203.0.113.9', 'a valid forwarded address')
      assert.equal(await write('es', '2001:db8::1'), '2001:db8::1', 'IPv6 too')
    } finally {
      await app.close()
    }
  })
})

describe('S6 TRUST_PROXY parsing', () => {
  it('S6: TRUST_PROXY is true/false, a hop count, or a list of IPs/CIDRs; garbage is refused by name', () => {
    assert.equal(parseTrustProxy(undefined), false)
    assert.equal(parseTrustProxy('false'), false)
    assert.equal(parseTrustProxy('true'), true)
    assert.equal(parseTrustProxy('2'), 2, 'a hop count, not the address 0.0.0.2')
    assert.equal(loadConfig({ TRUST_PROXY: '1' }).trustProxy, 1)
    assert.deepEqual(parseTrustProxy('10.0.0.0/8, 192.168.1.1,fd00::/8'), [
      '10.0.0.0/8',
      '192.168.1.1',
      'fd00::/8',
    ])
    for (const bad of ['yes', '0', '10.0.0.0/33', 'loopback,', '1.2.3', '10.0.0.1/8/2', '-1']) {
      assert.throws(
        () => loadConfig({ TRUST_PROXY: bad }),
        (e: unknown) => isAuditedError(e) && e.code === 'validation' && e.details?.name === 'TRUST_PROXY',
        bad,
      )
    }
  })

  it('S6: TRUST_PROXY=1 trusts the nearest proxy only', async () => {
    const db = await openDatabase('sqlite::memory:')
    const app = buildApp({
      db,
      auditor: createAuditor({ personalData: PERSONAL_DATA, db }),
      trustProxy: loadConfig({ TRUST_PROXY: '1' }).trustProxy,
    })
    app.get('/whoami', async (request) => ({ ip: request.ip }))
    try {
      const res = await app.inject({
        method: 'GET',
        url: '/whoami',
        headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.5' },
      })
      assert.equal(JSON.parse(res.body).ip, '203.0.113.5')
    } finally {
      await app.close()
      await db.close()
    }
  })
})
