/**
 * HlcClock, parseHlc and unpackHlc: pure unit tests, no database.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hlcAtEndOf, hlcAtStartOf } from '../packages/audited/src/core/hlc.js'
import { HlcClock, isAuditedError, parseHlc, unpackHlc } from '../packages/audited/src/index.js'

const pack = (wall: bigint, counter: bigint): bigint => (wall << 16n) | counter

/** A physical clock the test moves by hand. */
function manualClock(start: number): { physical: () => number; set(ms: number): void } {
  let now = start
  return {
    physical: () => now,
    set(ms: number) {
      now = ms
    },
  }
}

/** Asserts a thrown value is a `validation` AuditedError; returns true for assert.throws. */
function isValidation(e: unknown): true {
  assert.ok(isAuditedError(e), `expected an AuditedError, got ${String(e)}`)
  assert.equal(e.code, 'validation')
  assert.equal(e.status, 400)
  return true
}

describe('HlcClock.now', () => {
  it('is strictly increasing over 200k calls on the real clock', () => {
    const clock = new HlcClock()
    assert.equal(clock.peek(), 0n, 'before the first value, peek() is 0n')
    const startMs = Date.now()
    let previous = clock.now()
    for (let i = 1; i < 200_000; i++) {
      const next = clock.now()
      if (next <= previous) assert.fail(`call ${i}: ${next} is not greater than ${previous}`)
      previous = next
    }
    assert.equal(clock.peek(), previous, 'peek() returns the last issued value without advancing')
    assert.equal(clock.peek(), previous)
    // The wall part tracks the physical clock (it may run ahead only by counter overflows).
    const { wall } = unpackHlc(previous)
    assert.ok(wall >= BigInt(startMs), 'the wall part is not behind the physical clock at the start')
    assert.ok(wall <= BigInt(Date.now()) + 1000n, 'the wall part is not far ahead of the physical clock')
  })

  it('keeps increasing when the physical clock goes backwards', () => {
    const t = manualClock(1_700_000_000_000)
    const clock = new HlcClock({ physical: t.physical })
    const readings = [
      1_700_000_000_000, 1_700_000_000_500, 1_700_000_000_100, 1_600_000_000_000, 1_700_000_000_500,
      1_700_000_000_499, 1_700_000_000_501, 0, 1_700_000_000_501,
    ]
    let previous = 0n
    const issued: bigint[] = []
    for (const ms of readings) {
      t.set(ms)
      const v = clock.now()
      assert.ok(v > previous, `physical ${ms}: ${v} is not greater than ${previous}`)
      previous = v
      issued.push(v)
    }
    // After the jump back, the wall part stays at the highest physical value seen and the
    // counter carries the order; once the physical clock moves past it, the counter resets.
    assert.deepEqual(unpackHlc(issued[1]!), { wall: 1_700_000_000_500n, counter: 0n })
    assert.deepEqual(unpackHlc(issued[2]!), { wall: 1_700_000_000_500n, counter: 1n })
    assert.deepEqual(unpackHlc(issued[3]!), { wall: 1_700_000_000_500n, counter: 2n })
    assert.deepEqual(unpackHlc(issued[5]!), { wall: 1_700_000_000_500n, counter: 4n })
    assert.deepEqual(unpackHlc(issued[6]!), { wall: 1_700_000_000_501n, counter: 0n })
    assert.deepEqual(unpackHlc(issued[7]!), { wall: 1_700_000_000_501n, counter: 1n })
  })

  it('survives counter overflow within one millisecond without blocking', { timeout: 10_000 }, () => {
    const frozen = 1_700_000_000_000
    // The physical clock never moves: a clock that waited for the next millisecond would hang.
    const clock = new HlcClock({ physical: () => frozen })
    const calls = 70_000
    const first = clock.now()
    assert.equal(first, pack(BigInt(frozen), 0n))
    let previous = first
    let atMax: bigint | undefined
    let afterMax: bigint | undefined
    for (let i = 1; i < calls; i++) {
      const next = clock.now()
      if (next <= previous) assert.fail(`call ${i}: ${next} is not greater than ${previous}`)
      if (i === 0xffff) atMax = next
      if (i === 0x10000) afterMax = next
      previous = next
    }
    assert.deepEqual(unpackHlc(atMax!), { wall: BigInt(frozen), counter: 0xffffn })
    // The 65,537th value moves the wall part one millisecond ahead, counter reset.
    assert.deepEqual(unpackHlc(afterMax!), { wall: BigInt(frozen) + 1n, counter: 0n })
    assert.deepEqual(unpackHlc(previous), {
      wall: BigInt(frozen) + 1n,
      counter: BigInt(calls - 1 - 0x10000),
    })
  })

  it('stays ahead after overflow until the physical clock catches up, then follows it', () => {
    const t = manualClock(1_000_000)
    const clock = new HlcClock({ physical: t.physical })
    for (let i = 0; i <= 0x10000; i++) clock.now()
    const ahead = clock.peek()
    assert.deepEqual(unpackHlc(ahead), { wall: 1_000_001n, counter: 0n })
    t.set(1_000_001) // physical equals the logical wall: the counter carries on
    const same = clock.now()
    assert.deepEqual(unpackHlc(same), { wall: 1_000_001n, counter: 1n })
    t.set(1_000_002) // physical passes the logical wall: follow it, counter reset
    const passed = clock.now()
    assert.deepEqual(unpackHlc(passed), { wall: 1_000_002n, counter: 0n })
    assert.ok(ahead < same && same < passed)
  })
})

describe('HlcClock.receive', () => {
  it('makes the next now() greater than a remote value ahead of this clock', () => {
    const t = manualClock(5_000_000)
    const clock = new HlcClock({ physical: t.physical })
    const local = clock.now()
    const remote = pack(5_000_500n, 7n) // 500 ms ahead, within the default drift
    const merged = clock.receive(remote)
    assert.ok(merged > remote, 'receive() returns a value above the remote one')
    assert.ok(merged > local)
    const next = clock.now()
    assert.ok(next > remote, `${next} is not greater than remote ${remote}`)
    assert.ok(next > merged)
    assert.deepEqual(unpackHlc(next), { wall: 5_000_500n, counter: 9n })
  })

  it('takes the larger counter when the remote wall equals the local wall', () => {
    const t = manualClock(5_000_000)
    const clock = new HlcClock({ physical: t.physical })
    clock.now()
    clock.now() // local: wall 5_000_000, counter 1
    const remote = pack(5_000_000n, 40n)
    clock.receive(remote)
    const next = clock.now()
    assert.ok(next > remote)
    assert.deepEqual(unpackHlc(next), { wall: 5_000_000n, counter: 42n })
  })

  it('a remote value behind this clock still advances it', () => {
    const t = manualClock(5_000_000)
    const clock = new HlcClock({ physical: t.physical })
    const local = clock.now()
    const remote = pack(4_000_000n, 3n)
    const merged = clock.receive(remote)
    assert.ok(merged > local && merged > remote)
    assert.ok(clock.now() > merged)
  })

  it('a remote value with a full counter moves the wall part on', () => {
    const t = manualClock(5_000_000)
    const clock = new HlcClock({ physical: t.physical })
    const remote = pack(5_000_010n, 0xffffn)
    const merged = clock.receive(remote)
    assert.ok(merged > remote)
    assert.deepEqual(unpackHlc(merged), { wall: 5_000_011n, counter: 0n })
    assert.ok(clock.now() > remote)
  })

  it('after receive, the next now() is greater than the remote value for many random merges', () => {
    const t = manualClock(10_000_000)
    const clock = new HlcClock({ physical: t.physical, maxDriftMs: 1000 })
    let seed = 12345
    const rand = (n: number) => {
      seed = (seed * 48_271) % 2_147_483_647 // Park-Miller: deterministic, exact in doubles
      return seed % n
    }
    let previous = clock.now()
    for (let i = 0; i < 5000; i++) {
      const pt = 10_000_000 + rand(2000) - 1000 // jitter, sometimes backwards
      t.set(pt)
      const remote = pack(BigInt(pt + rand(1800) - 900), BigInt(rand(0x10000))) // within the drift
      const merged = clock.receive(remote)
      assert.ok(merged > remote && merged > previous, `merge ${i}`)
      const next = clock.now()
      assert.ok(next > remote && next > merged, `now after merge ${i}`)
      previous = next
    }
  })

  it('rejects a remote value too far ahead with a validation error and keeps its state', () => {
    const t = manualClock(1_000_000)
    const clock = new HlcClock({ physical: t.physical })
    const before = clock.now()
    const tooFar = pack(1_000_000n + 60_001n, 0n) // default maxDriftMs is 60 s
    assert.throws(
      () => clock.receive(tooFar),
      (e: unknown) => {
        isValidation(e)
        const details = (e as { details?: Record<string, unknown> }).details
        assert.deepEqual(details, { remoteWallMs: '1060001', localWallMs: '1000000' })
        return true
      },
    )
    assert.equal(clock.peek(), before, 'a rejected remote value does not move the clock')
    const atLimit = pack(1_000_000n + 60_000n, 5n)
    assert.ok(clock.receive(atLimit) > atLimit, 'exactly maxDriftMs ahead is accepted')
  })

  it('honours a custom maxDriftMs', () => {
    const t = manualClock(1_000_000)
    const clock = new HlcClock({ physical: t.physical, maxDriftMs: 10 })
    assert.throws(() => clock.receive(pack(1_000_011n, 0n)), isValidation)
    assert.ok(clock.receive(pack(1_000_010n, 0n)) > pack(1_000_010n, 0n))
  })
})

describe('parseHlc', () => {
  it('accepts decimal strings', () => {
    assert.equal(parseHlc('0'), 0n)
    assert.equal(parseHlc('42'), 42n)
    assert.equal(parseHlc('000123'), 123n)
    assert.equal(parseHlc('111411422100848640'), 111_411_422_100_848_640n)
    assert.equal(parseHlc('9223372036854775807'), 2n ** 63n - 1n)
    // Exact beyond 2^53: no float on the way.
    assert.equal(parseHlc('9007199254740993'), 2n ** 53n + 1n)
  })

  it('rejects anything but decimal digits', () => {
    const bad = [
      '',
      ' 1',
      '1 ',
      '-1',
      '+1',
      '1.0',
      '1e3',
      '0x10',
      '0b1',
      'abc',
      '12a',
      '١٢٣', // Arabic-Indic digits
      '１２３', // full-width digits
      '1\n',
      '1_000',
    ]
    for (const value of bad) {
      assert.throws(
        () => parseHlc(value),
        (e: unknown) => {
          isValidation(e)
          assert.deepEqual((e as { details?: unknown }).details, { value })
          return true
        },
        `parseHlc(${JSON.stringify(value)}) should throw`,
      )
    }
  })

  it('rejects values at or above 2^63', () => {
    for (const value of [
      '9223372036854775808',
      '9223372036854775809',
      '18446744073709551615',
      '99999999999999999999',
      '100000000000000000000', // 21 digits
      '0000000000000000000000001', // too many digits, even if small
    ]) {
      assert.throws(() => parseHlc(value), isValidation, `parseHlc(${value}) should throw`)
    }
  })
})

describe('unpackHlc', () => {
  it('splits wall and counter and round-trips through packing', () => {
    const cases: [bigint, bigint][] = [
      [0n, 0n],
      [0n, 0xffffn],
      [1n, 0n],
      [1_700_000_000_000n, 1n],
      [1_700_000_000_000n, 0xfffen],
      [2n ** 47n - 1n, 0xffffn], // largest value that stays below 2^63
    ]
    for (const [wall, counter] of cases) {
      const hlc = pack(wall, counter)
      assert.deepEqual(unpackHlc(hlc), { wall, counter })
      assert.equal(parseHlc(hlc.toString()), hlc, 'decimal text round-trips exactly')
    }
  })

  it('round-trips every value a clock issues', () => {
    const t = manualClock(1_700_000_000_000)
    const clock = new HlcClock({ physical: t.physical })
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 0) t.set(1_700_000_000_000 + i)
      const v = clock.now()
      const { wall, counter } = unpackHlc(v)
      assert.ok(counter >= 0n && counter <= 0xffffn)
      assert.equal(pack(wall, counter), v)
      assert.equal(parseHlc(v.toString()), v)
    }
  })
})

describe('HLC date range', () => {
  it('dates an HLC cannot represent are validation errors', () => {
    assert.throws(
      () => hlcAtStartOf(new Date('6429-10-17T02:45:55.328Z')),
      (e: unknown) => isAuditedError(e) && e.code === 'validation',
    )
    assert.throws(
      () => hlcAtEndOf(new Date(-1)),
      (e: unknown) => isAuditedError(e) && e.code === 'validation',
    )
    assert.ok(hlcAtEndOf(new Date('6429-01-01T00:00:00Z')) < 2n ** 63n)
  })
})
