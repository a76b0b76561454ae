/**
 * Webhook signatures against Standard Webhooks' own reference verifier (`standardwebhooks`):
 * a receiver written to the spec accepts ours, during secret rotation with either secret,
 * and rejects a tampered body, id or timestamp. The asymmetric `v1a` entries are checked
 * with node:crypto against the published `whpk_` key.
 */
import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import { describe, it } from 'node:test'
import { Webhook } from 'standardwebhooks'
import {
  newWebhookSecret,
  signatureHeader,
  webhookHeaders,
  webhookPublicKey,
} from '../packages/cms/src/webhooks/signing.js'

const BODY = JSON.stringify({ type: 'entries.publish', data: { id: '01J0', title: 'Grüße ✓' } })
const now = () => Math.floor(Date.now() / 1000)

function rejects(wh: Webhook, body: string, headers: Record<string, string>): void {
  assert.throws(() => wh.verify(body, headers), /No matching signature|Invalid signature|timestamp/i)
}

describe('Standard Webhooks signatures', () => {
  it('a new secret is whsec_ and the base64 of 32 random bytes; no two alike', () => {
    const a = newWebhookSecret()
    assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/)
    assert.equal(Buffer.from(a.slice(6), 'base64').length, 32)
    assert.notEqual(a, newWebhookSecret())
  })

  it('the reference verifier accepts our headers and hands back the payload', () => {
    const secret = newWebhookSecret()
    const headers = webhookHeaders('msg_2dbY2mQ', now(), BODY, [secret])
    assert.deepEqual(Object.keys(headers).sort(), ['webhook-id', 'webhook-signature', 'webhook-timestamp'])
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/)
    assert.deepEqual(new Webhook(secret).verify(BODY, headers), JSON.parse(BODY))
  })

  it('rotation: two secrets give two entries, and each secret alone verifies', () => {
    const [oldSecret, newSecret] = [newWebhookSecret(), newWebhookSecret()]
    const headers = webhookHeaders('msg_rot', now(), BODY, [oldSecret, newSecret])
    assert.equal(headers['webhook-signature'].split(' ').length, 2)
    for (const secret of [oldSecret, newSecret]) new Webhook(secret).verify(BODY, headers)
    rejects(new Webhook(newWebhookSecret()), BODY, headers)
  })

  it('a tampered body, id or timestamp, or a stale timestamp, is rejected', () => {
    const secret = newWebhookSecret()
    const wh = new Webhook(secret)
    const ts = now()
    const headers = webhookHeaders('msg_t', ts, BODY, [secret])
    rejects(wh, BODY.replace('Grüße', 'Gruße'), headers)
    rejects(wh, `${BODY} `, headers)
    rejects(wh, BODY, { ...headers, 'webhook-id': 'msg_u' })
    rejects(wh, BODY, { ...headers, 'webhook-timestamp': String(ts + 1) })
    rejects(wh, BODY, webhookHeaders('msg_t', ts - 3600, BODY, [secret]))
  })

  it('v1a entries are Ed25519 signatures over the same content, verifiable from the whpk_ key', () => {
    const secret = newWebhookSecret()
    const k1 = generateKeyPairSync('ed25519')
    const k2 = generateKeyPairSync('ed25519')
    const ts = now()
    const header = signatureHeader({
      id: 'msg_a',
      timestamp: ts,
      body: BODY,
      secrets: [secret],
      ed25519PrivateKeys: [k1.privateKey, k2.privateKey],
    })
    const entries = header.split(' ')
    assert.deepEqual(
      entries.map((e) => e.split(',')[0]),
      ['v1', 'v1a', 'v1a'],
    )
    // the reference verifier skips v1a and still accepts the v1 entry
    new Webhook(secret).verify(BODY, {
      'webhook-id': 'msg_a',
      'webhook-timestamp': String(ts),
      'webhook-signature': header,
    })
    const content = Buffer.from(`msg_a.${ts}.${BODY}`)
    const published = webhookPublicKey(k1.publicKey)
    assert.match(published, /^whpk_[A-Za-z0-9+/]{43}=$/)
    const raw = Buffer.from(published.slice(5), 'base64')
    const pub = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    })
    const sig1 = Buffer.from(entries[1]!.slice(4), 'base64')
    const sig2 = Buffer.from(entries[2]!.slice(4), 'base64')
    assert.equal(verify(null, content, pub, sig1), true)
    assert.equal(verify(null, content, k2.publicKey, sig2), true)
    assert.equal(verify(null, content, pub, sig2), false, 'each entry is its own key')
    assert.equal(verify(null, Buffer.from(`msg_a.${ts}.${BODY}x`), pub, sig1), false)
    const keysOnly = signatureHeader({
      id: 'msg_b',
      timestamp: ts,
      body: BODY,
      secrets: [],
      ed25519PrivateKeys: [k1.privateKey],
    })
    assert.match(keysOnly, /^v1a,[A-Za-z0-9+/]{86}==$/)
  })

  it('bad input is a validation error, not a weak signature', () => {
    const secret = newWebhookSecret()
    const ok = { id: 'msg_1', timestamp: now(), body: BODY, secrets: [secret] }
    const bad = [
      { ...ok, secrets: [] },
      { ...ok, secrets: ['not-a-secret'] },
      { ...ok, secrets: [`whsec_${Buffer.alloc(8).toString('base64')}`] },
      { ...ok, secrets: ['whsec_!!!!'] },
      { ...ok, id: '' },
      { ...ok, id: 'msg.1' },
      { ...ok, timestamp: 1.5 },
      { ...ok, timestamp: -1 },
      { ...ok, ed25519PrivateKeys: [generateKeyPairSync('ed25519').publicKey] },
      { ...ok, ed25519PrivateKeys: [generateKeyPairSync('x25519').privateKey] },
    ]
    for (const input of bad) {
      assert.throws(
        () => signatureHeader(input),
        (e: { code?: string }) => e.code === 'validation',
        JSON.stringify(input.id),
      )
    }
  })
})
