/**
 * The verifier's and sealer's Node.js fast path gives exactly what the portable functions
 * give: leaf text and hash for any event (values in any key order, nested, unicode, -0,
 * undefined fields), hex both ways (errors included), and Ed25519 checks (valid, altered
 * message, altered signature, other key).
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { ChangeEvent } from '../packages/audited/src/index.js'
import { canonicalJson } from '../packages/audited/src/index.js'
import { nodeSignatureCheck } from '../packages/audited/src/integrity/node-crypto.js'
import {
  nodeLeafHash,
  nodeLeafHex,
  nodeToHex,
  storedLeafBytes,
} from '../packages/audited/src/integrity/node-leaf.js'
import {
  eventLeafBytes,
  eventLeafHash,
  fromHex,
  nobleSignatureCheck,
  toHex,
} from '../packages/audited/src/proofs.js'

const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)
const values = fc.option(fc.dictionary(fc.string(), json, { maxKeys: 6 }), { nil: null })
const text = fc.option(
  fc.string({ unit: 'binary' }).filter((s) => !s.includes('\u0000')),
  { nil: null },
)

const event = fc.record({
  eventId: fc.string(),
  hlc: fc.string(),
  wallTime: fc.string(),
  nodeId: fc.string(),
  tenantId: text,
  txId: fc.string(),
  table: fc.string(),
  recordId: fc.string(),
  operation: fc.constantFrom('INSERT', 'UPDATE', 'DELETE'),
  action: fc.constantFrom('create', 'update', 'delete'),
  actorId: fc.string(),
  actorType: fc.constantFrom('user', 'system'),
  oldValues: values,
  newValues: values,
  changedFields: fc.array(fc.string(), { maxLength: 4 }),
  requestId: text,
  ip: text,
  userAgent: text,
  reason: text,
  metadata: values,
}) as fc.Arbitrary<ChangeEvent>

/** The leaf input as first specified: canonical JSON of the twenty fields, in any order. */
function specifiedLeafText(e: ChangeEvent): string {
  const { eventId, hlc, wallTime, nodeId, tenantId, txId, table, recordId, operation, action } = e
  const { actorId, actorType, oldValues, newValues, changedFields, requestId, ip, userAgent } = e
  const { reason, metadata } = e
  return canonicalJson({
    eventId,
    hlc,
    wallTime,
    nodeId,
    tenantId,
    txId,
    table,
    recordId,
    operation,
    action,
    actorId,
    actorType,
    oldValues,
    newValues,
    changedFields,
    requestId,
    ip,
    userAgent,
    reason,
    metadata,
  })
}

describe('the Node.js fast path of the integrity log', () => {
  it('hashes every event as the portable leaf functions and the specified leaf input', () => {
    fc.assert(
      fc.property(event, fc.string(), (e, extra) => {
        const withCursor = { ...e, cursor: extra, position: '7' }
        assert.equal(new TextDecoder().decode(eventLeafBytes(withCursor)), specifiedLeafText(e))
        assert.equal(nodeLeafHex(withCursor), toHex(eventLeafHash(e)))
        assert.deepEqual(new Uint8Array(nodeLeafHash(withCursor)), eventLeafHash(e))
      }),
      { numRuns: 300 },
    )
  })

  it('converts hex both ways as the portable functions; a stored leaf that is not hex reads as zeros', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        assert.equal(nodeToHex(bytes), toHex(bytes))
      }),
    )
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        assert.deepEqual(new Uint8Array(storedLeafBytes(toHex(bytes))), fromHex(toHex(bytes)))
      }),
    )
    const zeros = new Uint8Array(32)
    for (const bad of [
      '',
      'abc',
      'zz'.repeat(32),
      'AB'.repeat(32),
      `${'00'.repeat(31)}0g`,
      ` ${'0'.repeat(63)}`,
      '00'.repeat(33),
    ])
      assert.deepEqual(new Uint8Array(storedLeafBytes(bad)), zeros, bad)
  })

  it('accepts and rejects Ed25519 signatures as the portable check', () => {
    const mine = generateKeyPairSync('ed25519')
    const other = generateKeyPairSync('ed25519')
    const raw = (k: typeof mine) =>
      new Uint8Array(k.publicKey.export({ format: 'der', type: 'spki' }).subarray(12))
    const message = new TextEncoder().encode('audited.test/t\n3\nroot\n')
    const signature = new Uint8Array(sign(null, message, mine.privateKey))
    const flipped = (b: Uint8Array, i: number) => b.map((x, j) => (j === i ? x ^ 1 : x))
    const cases: [Uint8Array, Uint8Array, Uint8Array, boolean][] = [
      [signature, message, raw(mine), true],
      [signature, flipped(message, 3), raw(mine), false],
      [flipped(signature, 10), message, raw(mine), false],
      [flipped(signature, 40), message, raw(mine), false],
      [signature, message, raw(other), false],
    ]
    for (const [sig, msg, key, valid] of cases) {
      assert.equal(nobleSignatureCheck(sig, msg, key), valid)
      assert.equal(nodeSignatureCheck(sig, msg, key), valid)
    }
  })
})
