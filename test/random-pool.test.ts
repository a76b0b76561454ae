/** The pooled random bytes behind IVs, subject keys and ids: each byte handed out once. */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { RandomPool } from '../packages/audited/src/core/random-pool.js'

it('hands out fresh bytes of the asked length, across refills, never the same slice twice', () => {
  const pool = new RandomPool()
  const seen = new Set<string>()
  for (let i = 0; i < 2000; i++) {
    const b = pool.bytes(12)
    assert.equal(b.length, 12)
    const hex = b.toString('hex')
    assert.ok(!seen.has(hex), 'a repeated 96-bit value means a slice was handed out twice')
    seen.add(hex)
  }
  const big = pool.bytes(5000)
  assert.equal(big.length, 5000)
  assert.ok(
    big.some((x) => x !== 0),
    'a large request is filled too',
  )
})

it('gives each caller its own copy: later draws and refills never change one handed out', () => {
  const pool = new RandomPool()
  const a = pool.bytes(32)
  const keep = Buffer.from(a)
  // Well past a refill (4 KiB), each draw zeroed by its caller.
  for (let i = 0; i < 600; i++) pool.bytes(12).fill(0)
  assert.deepEqual(a, keep, 'a draw changed after it was handed out')
  assert.notDeepEqual(pool.bytes(32), Buffer.alloc(32))
})

it('draws fractions in [0, 1) with all byte values reachable', () => {
  const pool = new RandomPool()
  const values = new Set<number>()
  for (let i = 0; i < 20_000; i++) {
    const x = pool.fraction()
    assert.ok(x >= 0 && x < 1)
    values.add(x)
  }
  assert.equal(values.size, 256)
})

it('a secret is fresh and in memory of its own (not a shared slab)', () => {
  const pool = new RandomPool()
  const secrets = Array.from({ length: 300 }, () => pool.secret(32)) // across refills
  assert.equal(new Set(secrets.map((s) => s.toString('hex'))).size, 300, 'every secret differs')
  for (const s of secrets) {
    assert.equal(s.length, 32)
    // Buffer.alloc gives a buffer its own ArrayBuffer; a pooled small Buffer shares a slab.
    assert.equal(s.buffer.byteLength, 32, 'the secret does not sit in a shared slab')
    assert.equal(s.byteOffset, 0)
  }
})
