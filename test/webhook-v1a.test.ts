/**
 * The optional Ed25519 signature (`v1a`, Standard Webhooks): with a key configured every
 * delivery carries it beside `v1`, and the public key the API publishes verifies it.
 */
import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { webhookSettings } from '../packages/cms/src/server/webhook-config.js'
import { parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { forEachHttpDialect } from './http-setup.js'
import { noteType, scriptedReceiver, subscribe, until, verified } from './webhook-delivery-support.js'

const { privateKey } = generateKeyPairSync('ed25519')

forEachHttpDialect(
  'webhook v1a signatures',
  (f) => {
    it('every delivery carries v1 and v1a; the published key verifies v1a', async () => {
      const rx = await scriptedReceiver()
      try {
        const type = await noteType(f)
        const hook = await subscribe(f, `${rx.origin}/k`, ['entries.create'])
        await f.call('POST', `/api/v1/entries/${type}`, { body: { data: { title: 'signed twice' } } })
        await until(() => rx.requests.some((r) => r.path === '/k'))
        const req = rx.requests.find((r) => r.path === '/k')!
        verified(hook.secret, req) // the v1 signature, by the reference verifier
        const published = await f.call('GET', '/api/v1/webhooks/public-key')
        assert.equal(published.status, 200)
        assert.match(published.body.publicKey, /^whpk_[A-Za-z0-9+/]{43}=$/)
        const raw = Buffer.from(published.body.publicKey.slice(5), 'base64')
        const key = createPublicKey({
          key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
          format: 'jwk',
        })
        const entries = String(req.headers['webhook-signature']).split(' ')
        const v1a = entries.find((e) => e.startsWith('v1a,'))
        assert.ok(v1a !== undefined, 'a v1a signature')
        const content = Buffer.from(
          `${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`,
        )
        assert.equal(verify(null, content, key, Buffer.from(v1a.slice(4), 'base64')), true)
        assert.equal(
          verify(null, Buffer.from(`${content}x`), key, Buffer.from(v1a.slice(4), 'base64')),
          false,
        )
      } finally {
        await rx.close()
      }
    })
  },
  { webhooks: { policy: parseAllowHosts('127.0.0.1'), schedule: [0, 50], ed25519Key: privateKey } },
)

it('WEBHOOK_ED25519_KEY: a PEM Ed25519 key file; anything else is refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'audited-v1a-'))
  try {
    const good = join(dir, 'key.pem')
    writeFileSync(good, privateKey.export({ format: 'pem', type: 'pkcs8' }))
    assert.equal(webhookSettings({ WEBHOOK_ED25519_KEY: good }).ed25519Key?.asymmetricKeyType, 'ed25519')
    assert.equal(webhookSettings({}).ed25519Key, undefined)
    const rsa = join(dir, 'rsa.pem')
    writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    )
    for (const path of [rsa, join(dir, 'missing.pem')]) {
      assert.throws(
        () => webhookSettings({ WEBHOOK_ED25519_KEY: path }),
        (e: { code?: string; details?: { name?: string } }) =>
          e.code === 'validation' && e.details?.name === 'WEBHOOK_ED25519_KEY',
      )
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
