/** The webhook retry schedule: WEBHOOK_RETRY_SCHEDULE parsing, jitter, Retry-After, exhaustion. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  MAX_SCHEDULE_ENTRIES,
  nextDelayMs,
  parseSchedule,
  STANDARD_SCHEDULE_MS,
} from '../packages/cms/src/webhooks/schedule.js'

describe('retry schedule', () => {
  it('the standard schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h', () => {
    const s = 1000
    const m = 60 * s
    const h = 60 * m
    assert.deepEqual(STANDARD_SCHEDULE_MS, [
      0,
      5 * s,
      5 * m,
      30 * m,
      2 * h,
      5 * h,
      10 * h,
      14 * h,
      20 * h,
      24 * h,
    ])
    assert.ok(Object.isFrozen(STANDARD_SCHEDULE_MS))
    assert.deepEqual(parseSchedule(undefined), STANDARD_SCHEDULE_MS)
    assert.deepEqual(parseSchedule('  '), STANDARD_SCHEDULE_MS)
  })

  it('parses comma-separated durations with units', () => {
    assert.deepEqual(parseSchedule('0,1s,500ms,5m,2h'), [0, 1000, 500, 300_000, 7_200_000])
    assert.deepEqual(parseSchedule(' 0 , 10ms ,1d'), [0, 10, 86_400_000])
  })

  it('bad input is a validation error that names the bad entry', () => {
    const bad: ReadonlyArray<readonly [string, RegExp]> = [
      ['5', /entry 1 \("5"\)/],
      ['0,5x', /entry 2 \("5x"\)/],
      ['0,,5s', /entry 2 \(""\)/],
      ['-5s', /entry 1/],
      ['1.5s', /entry 1/],
      ['5 s', /entry 1/],
      ['1e3ms', /entry 1/],
      ['0,8d', /entry 2 \(8d\) is longer than 7 days/],
      [
        Array(MAX_SCHEDULE_ENTRIES + 1)
          .fill('1s')
          .join(','),
        /at most 100/,
      ],
    ]
    for (const [env, message] of bad) {
      assert.throws(
        () => parseSchedule(env),
        (e: { code?: string; message?: string }) =>
          e.code === 'validation' &&
          (e.message ?? '').startsWith('WEBHOOK_RETRY_SCHEDULE is invalid') &&
          message.test(e.message ?? ''),
        env,
      )
    }
  })

  it('the delay for attempt n is the nth entry ±10 %; 0 stays 0; past the end: undefined', () => {
    const schedule = [0, 1000, 60_000]
    for (const r of [0, 0.5, 0.999999])
      assert.equal(
        nextDelayMs(0, schedule, undefined, () => r),
        0,
      )
    assert.equal(
      nextDelayMs(1, schedule, undefined, () => 0),
      900,
    )
    assert.equal(
      nextDelayMs(1, schedule, undefined, () => 0.5),
      1000,
    )
    assert.equal(
      nextDelayMs(1, schedule, undefined, () => 0.999999),
      1100,
    )
    assert.equal(
      nextDelayMs(2, schedule, undefined, () => 0),
      54_000,
    )
    assert.equal(nextDelayMs(3, schedule), undefined)
    assert.equal(nextDelayMs(10, STANDARD_SCHEDULE_MS), undefined)
    assert.equal(
      nextDelayMs(9, STANDARD_SCHEDULE_MS, undefined, () => 0.5),
      86_400_000,
    )
    for (let i = 0; i < 200; i++) {
      const d = nextDelayMs(4, STANDARD_SCHEDULE_MS)!
      assert.ok(d >= 7_200_000 * 0.9 && d <= 7_200_000 * 1.1, String(d))
    }
  })

  it('Retry-After wins only when it asks for longer, and never past 24 h', () => {
    const schedule = [0, 1000, 60_000]
    const mid = () => 0.5
    assert.equal(nextDelayMs(1, schedule, 30_000, mid), 30_000)
    assert.equal(nextDelayMs(1, schedule, 500, mid), 1000)
    assert.equal(nextDelayMs(0, schedule, 2000, mid), 2000)
    assert.equal(nextDelayMs(1, schedule, 10 * 86_400_000, mid), 86_400_000)
    assert.equal(nextDelayMs(1, schedule, Number.NaN, mid), 1000)
    assert.equal(nextDelayMs(3, schedule, 30_000, mid), undefined, 'an exhausted schedule stays exhausted')
  })

  it('a negative or fractional attempt count is refused', () => {
    for (const n of [-1, 1.5, Number.NaN]) {
      assert.throws(
        () => nextDelayMs(n, STANDARD_SCHEDULE_MS),
        (e: { code?: string }) => e.code === 'validation',
      )
    }
  })
})
