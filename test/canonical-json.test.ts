/**
 * canonicalize / canonicalJson: pure unit tests, no database.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { canonicalizeParsed } from '../packages/audited/src/core/canonical-json.js'
import { canonicalize, canonicalJson, isAuditedError } from '../packages/audited/src/index.js'

/** Asserts `fn` throws a `validation` AuditedError whose details name `path` (and `type`). */
function rejectsAt(fn: () => unknown, path: string, type?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isAuditedError(e), `expected an AuditedError, got ${String(e)}`)
    assert.equal(e.code, 'validation')
    assert.equal(e.status, 400)
    const details = e.details ?? {}
    assert.equal(details.path, path)
    if (type !== undefined) assert.equal(details.type, type)
    assert.ok(e.message.includes(path), `the message names the path: ${e.message}`)
    return true
  })
}

describe('canonicalize: conversions', () => {
  it('bigint becomes its decimal string', () => {
    assert.equal(canonicalize(12n), '12')
    assert.equal(canonicalize(-5n), '-5')
    assert.equal(canonicalize(0n), '0')
    assert.equal(canonicalize(2n ** 64n), '18446744073709551616')
    assert.deepEqual(canonicalize({ n: 2n ** 60n, list: [1n, -(2n ** 63n)] }), {
      list: ['1', '-9223372036854775808'],
      n: '1152921504606846976',
    })
    assert.equal(canonicalJson({ b: 1n, a: new Date(0) }), '{"a":"1970-01-01T00:00:00.000Z","b":"1"}')
  })

  it('Date becomes its ISO-8601 UTC string', () => {
    assert.equal(canonicalize(new Date(0)), '1970-01-01T00:00:00.000Z')
    assert.equal(canonicalize(new Date('2024-03-01T01:02:03.456+02:00')), '2024-02-29T23:02:03.456Z')
    assert.equal(canonicalize(new Date(-1)), '1969-12-31T23:59:59.999Z')
    assert.deepEqual(canonicalize({ at: [new Date(86_400_000)] }), { at: ['1970-01-02T00:00:00.000Z'] })
  })

  it('an invalid Date is a validation error naming its path', () => {
    rejectsAt(() => canonicalize(new Date('not a date')), '$', 'invalid Date')
    rejectsAt(() => canonicalize({ when: new Date(Number.NaN) }), '$.when', 'invalid Date')
    rejectsAt(() => canonicalJson({ list: [new Date(0), new Date('x')] }), '$.list[1]', 'invalid Date')
  })

  it('Buffer and Uint8Array become base64', () => {
    assert.equal(canonicalize(Buffer.from('hello')), 'aGVsbG8=')
    assert.equal(canonicalize(new Uint8Array([0, 255, 128])), 'AP+A')
    assert.equal(canonicalize(new Uint8Array([])), '')
    // A view into a larger buffer encodes only its own bytes.
    assert.equal(canonicalize(new Uint8Array([1, 2, 3, 4]).subarray(1, 3)), 'AgM=')
    const big = Buffer.from('xxhelloyy')
    assert.equal(canonicalize(big.subarray(2, 7)), 'aGVsbG8=')
    // Buffer's own toJSON ({type, data}) is not used.
    assert.deepEqual(canonicalize({ file: Buffer.from([1, 2]) }), { file: 'AQI=' })
  })

  it('undefined object keys are omitted and undefined array items become null', () => {
    const out = canonicalize({ a: undefined, b: 1, c: { d: undefined } })
    assert.deepEqual(out, { b: 1, c: {} })
    assert.equal(Object.hasOwn(out as object, 'a'), false)
    assert.deepEqual(canonicalize([undefined, 1, undefined]), [null, 1, null])
    assert.equal(canonicalJson({ a: undefined, l: [undefined] }), '{"l":[null]}')
    // The same as JSON.stringify for these shapes.
    const sample = { x: undefined, y: [undefined, 2] }
    assert.equal(canonicalJson(sample), JSON.stringify(sample))
  })

  it('array holes are undefined items too: they become null', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point of the test.
    const sparse = [, 1]
    const out = canonicalize(sparse)
    assert.equal(canonicalJson(sparse), '[null,1]')
    assert.deepEqual(out, [null, 1], 'canonicalize returns a dense array with null for the hole')
    assert.equal(Object.hasOwn(out as object, 0), true)
    assert.deepEqual(canonicalize(new Array(2)), [null, null])
  })

  it('a top-level undefined is an error (there is no JSON for it)', () => {
    rejectsAt(() => canonicalize(undefined), '$', 'undefined')
  })

  it('-0 becomes 0', () => {
    assert.ok(Object.is(canonicalize(-0), 0))
    const nested = canonicalize({ a: [-0], b: -0 }) as { a: number[]; b: number }
    assert.ok(Object.is(nested.a[0], 0))
    assert.ok(Object.is(nested.b, 0))
    assert.equal(canonicalJson([-0, 0]), '[0,0]')
  })

  it('plain numbers, strings, booleans and null pass through', () => {
    assert.deepEqual(canonicalize([1.5, -2, 1e21, 1e-7, Number.MAX_SAFE_INTEGER, 'x', true, false, null]), [
      1.5,
      -2,
      1e21,
      1e-7,
      Number.MAX_SAFE_INTEGER,
      'x',
      true,
      false,
      null,
    ])
    assert.equal(canonicalize(null), null)
    assert.equal(canonicalJson('a"b\\c\n'), JSON.stringify('a"b\\c\n'))
  })
})

describe('canonicalize: values JSON cannot carry', () => {
  it('NaN and ±Infinity', () => {
    rejectsAt(() => canonicalize(Number.NaN), '$', 'NaN')
    rejectsAt(() => canonicalize({ a: { b: [1, Number.NaN] } }), '$.a.b[1]', 'NaN')
    rejectsAt(() => canonicalize({ x: Number.POSITIVE_INFINITY }), '$.x', 'Infinity')
    rejectsAt(() => canonicalize([Number.NEGATIVE_INFINITY]), '$[0]', '-Infinity')
  })

  it('functions', () => {
    rejectsAt(() => canonicalize(() => 1), '$', 'function')
    rejectsAt(() => canonicalize({ tags: { f() {} } }), '$.tags.f', 'function')
    rejectsAt(() => canonicalize([0, [1, () => 2]]), '$[1][1]', 'function')
  })

  it('symbols', () => {
    rejectsAt(() => canonicalize(Symbol('s')), '$', 'symbol')
    rejectsAt(() => canonicalize({ tags: [Symbol.iterator] }), '$.tags[0]', 'symbol')
    // Symbol-keyed properties are not JSON keys; they are ignored, not an error.
    assert.deepEqual(canonicalize({ a: 1, [Symbol('k')]: 2 }), { a: 1 })
  })

  it('Map, Set, WeakMap and WeakSet', () => {
    rejectsAt(() => canonicalize(new Map([['a', 1]])), '$', 'Map')
    rejectsAt(() => canonicalize({ m: new Map() }), '$.m', 'Map')
    rejectsAt(() => canonicalize({ list: [new Set([1])] }), '$.list[0]', 'Set')
    rejectsAt(() => canonicalize({ w: new WeakMap() }), '$.w', 'WeakMap')
    rejectsAt(() => canonicalize({ w: new WeakSet() }), '$.w', 'WeakSet')
  })

  it('cycles, through objects and arrays', () => {
    const o: Record<string, unknown> = { name: 'o' }
    o.self = o
    rejectsAt(() => canonicalize(o), '$.self', 'cycle')
    const a: unknown[] = [1]
    a.push(a)
    rejectsAt(() => canonicalize(a), '$[1]', 'cycle')
    const deep: Record<string, unknown> = {}
    deep.child = { list: [{ back: deep }] }
    rejectsAt(() => canonicalize({ root: deep }), '$.root.child.list[0].back', 'cycle')
    rejectsAt(() => canonicalJson(o), '$.self', 'cycle')
  })

  it('the first offending value (in sorted key order) is the one named', () => {
    rejectsAt(() => canonicalize({ z: Number.NaN, a: () => 1 }), '$.a', 'function')
  })
})

describe('canonicalize: structure', () => {
  it('shared (non-cyclic) references are fine', () => {
    const shared = { x: 1, when: new Date(0) }
    const list = [shared, shared]
    const out = canonicalize({ a: shared, b: shared, c: list, d: [list, list] })
    const s = { when: '1970-01-01T00:00:00.000Z', x: 1 }
    assert.deepEqual(out, {
      a: s,
      b: s,
      c: [s, s],
      d: [
        [s, s],
        [s, s],
      ],
    })
  })

  it('keys are sorted: the same JSON regardless of insertion order', () => {
    const one = { b: 1, a: 2, c: { z: 1, y: [{ q: 1, p: 2 }] }, A: 0, _: 3 }
    const two = { _: 3, A: 0, c: { y: [{ p: 2, q: 1 }], z: 1 }, a: 2, b: 1 }
    assert.equal(canonicalJson(one), canonicalJson(two))
    assert.equal(canonicalJson(one), '{"A":0,"_":3,"a":2,"b":1,"c":{"y":[{"p":2,"q":1}],"z":1}}')
    assert.deepEqual(Object.keys(canonicalize(one) as object), ['A', '_', 'a', 'b', 'c'])
    // Integer-like keys: deterministic too, whichever order they were inserted in.
    assert.equal(canonicalJson({ 10: 'a', 9: 'b', x: 'c' }), canonicalJson({ x: 'c', 9: 'b', 10: 'a' }))
    // Unicode keys.
    assert.equal(canonicalJson({ é: 1, e: 2, 漢: 3 }), canonicalJson({ 漢: 3, e: 2, é: 1 }))
    // Arrays keep their order: only keys are sorted.
    assert.deepEqual(canonicalize([3, 1, 2]), [3, 1, 2])
  })

  it('objects with toJSON are replaced by its result, canonicalised', () => {
    class Decimal {
      constructor(readonly text: string) {}
      toJSON(): string {
        return this.text
      }
    }
    assert.equal(canonicalize(new Decimal('1.50')), '1.50')
    assert.deepEqual(canonicalize({ price: new Decimal('9.99') }), { price: '9.99' })
    const rich = { toJSON: () => ({ b: 2n, a: new Date(0), c: undefined }) }
    assert.equal(canonicalJson(rich), '{"a":"1970-01-01T00:00:00.000Z","b":"2"}')
    rejectsAt(() => canonicalize({ bad: { toJSON: () => Number.NaN } }), '$.bad', 'NaN')
  })

  it('unicode round-trips: emoji, CJK, RTL and combining marks', () => {
    const value = {
      emoji: '😀👩‍👩‍👧🏳️‍🌈',
      cjk: '漢字かなカナ한국어',
      rtl: 'שלום مرحبا',
      combining: 'e\u0301',
      '🔑': '键',
    }
    const text = canonicalJson(value)
    assert.deepEqual(JSON.parse(text), value)
    assert.deepEqual(canonicalize(value), value)
    assert.equal(Buffer.from(text, 'utf8').toString('utf8'), text)
  })

  it('R11: a NUL or a lone surrogate in a string or a key is refused, naming the path', () => {
    rejectsAt(() => canonicalize({ a: 'x\u0000y' }), '$.a', 'text')
    rejectsAt(() => canonicalize({ a: ['ok', '\ud800'] }), '$.a[1]', 'text')
    rejectsAt(() => canonicalize({ a: { b: 'x\udc00y' } }), '$.a.b', 'text')
    rejectsAt(() => canonicalize({ a: { 'k\u0000': 1 } }), '$.a (a key)', 'text')
    rejectsAt(() => canonicalize('\ud800', 'title'), 'title', 'text')
    // A well-formed pair is one character, not a lone surrogate.
    assert.equal(canonicalize('\ud83d\ude00'), '😀')
    // Values already stored (read back) stay readable.
    assert.deepEqual(canonicalizeParsed({ lone: '\ud800' }), { lone: '\ud800' })
  })

  it('nested objects, empty arrays and empty objects', () => {
    const value = { a: { b: { c: [] } }, d: {}, e: [[], {}, [[]], [{}]], f: { g: null } }
    assert.deepEqual(canonicalize(value), value)
    assert.equal(canonicalJson(value), '{"a":{"b":{"c":[]}},"d":{},"e":[[],{},[[]],[{}]],"f":{"g":null}}')
    assert.deepEqual(canonicalize([]), [])
    assert.deepEqual(canonicalize({}), {})
  })

  it('does not modify its input', () => {
    const input = { b: [1n, undefined], a: new Date(0), c: -0 }
    canonicalize(input)
    assert.equal(input.b[0], 1n)
    assert.equal(input.b.length, 2)
    assert.ok(input.a instanceof Date)
    assert.ok(Object.is(input.c, -0))
    assert.deepEqual(Object.keys(input), ['b', 'a', 'c'])
  })
})

describe('canonical JSON depth', () => {
  it('nesting deeper than 31 is a validation error, not a stack overflow', () => {
    let deep: unknown = 1
    for (let i = 0; i < 5000; i++) deep = [deep]
    assert.throws(
      () => canonicalize(deep),
      (e: unknown) => isAuditedError(e) && e.code === 'validation',
    )
    let ok: unknown = 1
    for (let i = 0; i < 31; i++) ok = { a: ok }
    assert.doesNotThrow(() => canonicalize(ok))
    assert.throws(
      () => canonicalize({ a: ok }),
      (e: unknown) => isAuditedError(e) && e.code === 'validation',
    )
  })
})
