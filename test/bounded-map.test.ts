import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BoundedMap } from '../packages/audited/src/core/bounded-map.js'

describe('BoundedMap', () => {
  it('never holds more than max entries, and keeps the newest', () => {
    const m = new BoundedMap<number, string>(10)
    for (let i = 0; i < 1000; i++) {
      m.set(i, `v${i}`)
      assert.ok(m.size <= 10, `size ${m.size} after ${i + 1} sets`)
    }
    assert.equal(m.get(999), 'v999')
    assert.equal(m.get(995), 'v995')
    assert.equal(m.get(0), undefined)
    assert.equal(m.has(0), false)
  })

  it('keeps an entry that is read while newer ones arrive', () => {
    const m = new BoundedMap<string, number>(4)
    m.set('kept', 1)
    for (let i = 0; i < 100; i++) {
      m.set(`n${i}`, i)
      assert.equal(m.get('kept'), 1, `lost after ${i + 1} newer entries`)
    }
  })

  it('overwrites, deletes from either generation, and clears', () => {
    const m = new BoundedMap<string, number | undefined>(8)
    m.set('a', 1).set('b', 2).set('c', 3).set('d', 4) // now the old generation
    m.set('e', 5) // young
    m.set('a', 10) // moves to the young generation
    assert.equal(m.get('a'), 10)
    assert.equal(m.size, 5)
    assert.equal(m.delete('b'), true, 'from the old generation')
    assert.equal(m.delete('e'), true, 'from the young generation')
    assert.equal(m.delete('missing'), false)
    assert.equal(m.has('b'), false)
    m.set('u', undefined)
    assert.equal(m.has('u'), true, 'an undefined value is still an entry')
    assert.equal(m.get('u'), undefined)
    m.clear()
    assert.equal(m.size, 0)
    assert.equal(m.get('a'), undefined)
  })

  it('refuses a bound it cannot keep', () => {
    assert.throws(() => new BoundedMap(1), RangeError)
    assert.throws(() => new BoundedMap(2.5), RangeError)
  })
})
