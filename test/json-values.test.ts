/**
 * JSON edge cases through the engine, on every dialect: what `create` / `update` return,
 * what a direct read of the table holds and what the event records must all agree.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { decodeRow } from '../packages/audited/src/audit/row-codec.js'
import {
  type ChangeEvent,
  canonicalize,
  isAuditedError,
  type JsonObject,
  type JsonValue,
  REDACTED,
} from '../packages/audited/src/index.js'
import {
  ctx,
  type DialectFixture,
  eventCount,
  forEachDialect,
  newId,
  type Post,
  posts,
  rowsOf,
} from './setup.js'

/** A row's canonical form as an event shows it: redacted columns masked. */
function asEventState(row: object): JsonObject {
  const state = canonicalize(row) as JsonObject
  for (const column of posts.redact) if (Object.hasOwn(state, column)) state[column] = REDACTED
  return state
}

async function readRow(f: DialectFixture, id: string): Promise<Post> {
  const raw = (await rowsOf(f.db, 'posts')).find((r) => r.id === id)
  assert.ok(raw, `row ${id} is in the table`)
  if (f.name === 'sqlite') return decodeRow(posts, raw) as unknown as Post
  // pg and mysql2 parse JSON columns themselves on the shared pool (the engine's own
  // sessions read them as text and parse once); keep the driver's value for tags.
  return { ...decodeRow(posts, { ...raw, tags: null }), tags: raw.tags } as unknown as Post
}

/**
 * Checks that the returned row, the row read back through kysely and the event's
 * newValues agree, and returns the read-back row for case-specific assertions.
 */
async function agree(f: DialectFixture, id: string, returned: Post, event: ChangeEvent): Promise<Post> {
  const read = await readRow(f, id)
  assert.deepEqual(canonicalize(read), canonicalize(returned), 'returned row = row in the table')
  assert.ok(event.newValues, 'the event has a new state')
  assert.deepEqual(event.newValues, asEventState(read), 'event newValues = row in the table')
  return read
}

/**
 * Writes `values` twice: as a create, and as an update of a plain record (a different
 * statement path on PostgreSQL and MySQL). `check` runs on the returned and the read-back
 * row of each, and on the event's newValues.
 */
async function roundTrip(
  f: DialectFixture,
  values: (id: string) => Partial<Post>,
  check: (row: Post, state: JsonObject) => void,
): Promise<void> {
  const a = newId()
  const created = await f.auditor.create(posts, { id: a, title: `json ${a}`, ...values(a) }, ctx)
  const [createEvent] = (await f.auditor.events.history(posts, a)).events
  assert.ok(createEvent)
  assert.equal(createEvent.operation, 'INSERT')
  const readA = await agree(f, a, created, createEvent)
  for (const row of [created, readA]) check(row, createEvent.newValues!)

  const b = newId()
  await f.auditor.create(
    posts,
    {
      id: b,
      title: `plain ${b}`,
      body: 'plain',
      tags: ['plain'],
      flag: true,
      published_at: new Date('2000-01-01T00:00:00.000Z'),
    },
    ctx,
  )
  const updated = await f.auditor.update(posts, b, values(b), ctx)
  const history = (await f.auditor.events.history(posts, b)).events
  const updateEvent = history.at(-1)
  assert.ok(updateEvent)
  assert.equal(updateEvent.operation, 'UPDATE')
  assert.deepEqual(updateEvent.oldValues, history[0]!.newValues, 'oldValues = the state before')
  const readB = await agree(f, b, updated, updateEvent)
  for (const row of [updated, readB]) check(row, updateEvent.newValues!)
}

const isValidation = (e: unknown): boolean => isAuditedError(e) && e.code === 'validation'

forEachDialect('json values', (f) => {
  it('null values: null body, tags, flag and published_at', async () => {
    await roundTrip(
      f,
      () => ({ body: null, tags: null, flag: null, published_at: null }),
      (row, state) => {
        assert.equal(row.body, null)
        assert.equal(row.tags, null)
        assert.equal(row.flag, null)
        assert.equal(row.published_at, null)
        assert.equal(state.body, null)
        assert.equal(state.tags, null)
        assert.equal(state.flag, null)
        assert.equal(state.published_at, null)
      },
    )
  })

  it('an empty array in a json column', async () => {
    await roundTrip(
      f,
      () => ({ tags: [] }),
      (row, state) => {
        assert.deepEqual(row.tags, [])
        assert.deepEqual(state.tags, [])
      },
    )
  })

  it('an empty object and nested empties in a json column', async () => {
    await roundTrip(
      f,
      () => ({ tags: {} }),
      (row, state) => {
        assert.deepEqual(row.tags, {})
        assert.deepEqual(state.tags, {})
      },
    )
    await roundTrip(
      f,
      () => ({ tags: { a: [], b: {}, c: [[], {}], d: [null] } }),
      (row, state) => {
        const expected = { a: [], b: {}, c: [[], {}], d: [null] }
        assert.deepEqual(row.tags, expected)
        assert.deepEqual(state.tags, expected)
      },
    )
  })

  it('big integers inside a json value are stored and recorded as decimal strings', async () => {
    await roundTrip(
      f,
      () => ({ tags: { n: 2n ** 60n, list: [1n, -(2n ** 63n)], safe: Number.MAX_SAFE_INTEGER } }),
      (row, state) => {
        const expected = {
          list: ['1', '-9223372036854775808'],
          n: '1152921504606846976',
          safe: Number.MAX_SAFE_INTEGER,
        }
        assert.deepEqual(row.tags, expected)
        assert.deepEqual(state.tags, expected)
        assert.equal((state.tags as JsonObject).n, '1152921504606846976')
      },
    )
  })

  it('numbers inside a json value keep their value (-0 becomes 0)', async () => {
    const numbers = [0, -0, 1.5, -2, 1e21, 1e-7, 0.1 + 0.2, 123456789.125]
    await roundTrip(
      f,
      () => ({ tags: numbers }),
      (row, state) => {
        const expected = [0, 0, 1.5, -2, 1e21, 1e-7, 0.1 + 0.2, 123456789.125]
        assert.deepEqual(row.tags, expected)
        assert.deepEqual(state.tags, expected)
      },
    )
  })

  it('dates: a Date in a timestamp column reads back and records as the same instant', async () => {
    for (const [input, iso] of [
      [new Date('2024-02-29T23:59:59.123Z'), '2024-02-29T23:59:59.123Z'],
      [new Date('1969-07-20T20:17:40.000Z'), '1969-07-20T20:17:40.000Z'],
      ['2024-03-01T01:02:03.456+02:00', '2024-02-29T23:02:03.456Z'],
    ] as const) {
      await roundTrip(
        f,
        () => ({ published_at: input as Date }),
        (row, state) => {
          assert.ok(row.published_at instanceof Date, 'a timestamp column reads as a Date')
          assert.equal(row.published_at.toISOString(), iso)
          assert.equal(state.published_at, iso)
        },
      )
    }
  })

  it('dates and buffers inside a json value become ISO and base64 strings', async () => {
    await roundTrip(
      f,
      () => ({ tags: { at: new Date('2024-01-02T03:04:05.006Z'), bytes: Buffer.from('hi') } }),
      (row, state) => {
        const expected = { at: '2024-01-02T03:04:05.006Z', bytes: 'aGk=' }
        assert.deepEqual(row.tags, expected)
        assert.deepEqual(state.tags, expected)
      },
    )
  })

  it('nested objects and arrays', async () => {
    const nested = {
      z: 'last',
      a: { b: { c: [1, { d: [true, false, null] }, 'x'] } },
      list: [[1, 2], [], [{ k: 'v' }]],
      ключ: 'значение',
    }
    await roundTrip(
      f,
      () => ({ tags: nested }),
      (row, state) => {
        assert.deepEqual(row.tags, nested)
        assert.deepEqual(state.tags, nested)
        assert.deepEqual(Object.keys(state.tags as JsonObject), ['a', 'list', 'z', 'ключ'])
      },
    )
  })

  it('undefined inside a json value: keys omitted, array items null', async () => {
    await roundTrip(
      f,
      () => ({ tags: { gone: undefined, kept: [undefined, 1] } }),
      (row, state) => {
        assert.deepEqual(row.tags, { kept: [null, 1] })
        assert.deepEqual(state.tags, { kept: [null, 1] })
      },
    )
  })

  it('unicode text: emoji, CJK, RTL and combining marks in title, body and json', async () => {
    const body = 'RTL: שלום عليكم \u202Eabc\u202C · CJK: 漢字かな한국어 · ZWJ: 👩‍👩‍👧 · e\u0301 · 🏳️‍🌈'
    const tags = ['😀', '日本語', 'עברית', { '🔑': 'مفتاح' }]
    await roundTrip(
      f,
      (id) => ({ title: `😀 漢字 שלום مرحبا ${id}`, body, tags }),
      (row, state) => {
        assert.ok(row.title.startsWith('😀 漢字 שלום مرحبا '))
        assert.equal(row.title, state.title)
        assert.equal(row.body, body)
        assert.equal(state.body, body)
        assert.deepEqual(row.tags, tags)
        assert.deepEqual(state.tags, tags)
      },
    )
  })

  it('booleans in a boolean column and inside json', async () => {
    for (const flag of [true, false]) {
      await roundTrip(
        f,
        () => ({ flag, tags: [flag, !flag] }),
        (row, state) => {
          assert.equal(row.flag, flag, 'a boolean column reads as a boolean')
          assert.equal(state.flag, flag)
          assert.deepEqual(row.tags, [flag, !flag])
          assert.deepEqual(state.tags, [flag, !flag])
        },
      )
    }
  })

  it('a JSON string (and number / boolean) as the whole json value keeps its type', async () => {
    const scalars: JsonValue[] = ['plain text', '42', '{"a":1}', 'true', '', 7, 0, true]
    // Every scalar is tried, so a failure report lists all of them, not just the first.
    const failures: string[] = []
    for (const tags of scalars) {
      try {
        await roundTrip(
          f,
          () => ({ tags }),
          (row, state) => {
            assert.deepEqual(row.tags, tags, 'the row reads back unchanged')
            assert.deepEqual(state.tags, tags, 'the event records it unchanged')
          },
        )
      } catch (e) {
        const detail = isAuditedError(e) ? `${e.code}: ${e.message}` : (e as Error).message.split('\n')[0]
        failures.push(`${JSON.stringify(tags)} -> ${detail}`)
      }
    }
    assert.deepEqual(failures, [])
  })

  it('values JSON cannot represent are validation errors that write nothing', async () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const bad: [string, Partial<Post>][] = [
      ['a function in tags', { tags: { f: () => 1 } }],
      ['a cycle in tags', { tags: cyclic }],
      ['a symbol in tags', { tags: ['ok', Symbol('s')] }],
      ['a Map in tags', { tags: new Map([['k', 1]]) }],
      ['NaN in tags', { tags: { n: Number.NaN } }],
      ['an invalid Date in published_at', { published_at: new Date('nope') }],
      ['NaN in a number column', { views: Number.NaN }],
      ['a function in a text column', { body: (() => 'x') as unknown as string }],
    ]
    // A plain record to attempt updates on.
    const target = newId()
    await f.auditor.create(posts, { id: target, title: `target ${target}`, tags: ['before'] }, ctx)
    const targetBefore = await readRow(f, target)
    for (const [label, values] of bad) {
      const events = await eventCount(f.db)
      const rows = (await rowsOf(f.db, 'posts')).length
      const id = newId()
      await assert.rejects(
        f.auditor.create(posts, { id, title: `bad ${id}`, ...values }, ctx),
        isValidation,
        `create with ${label}`,
      )
      await assert.rejects(f.auditor.update(posts, target, values, ctx), isValidation, `update with ${label}`)
      await assert.rejects(
        f.auditor.createMany(
          posts,
          [
            { id: newId(), title: `fine ${newId()}` },
            { id, title: `bad ${id}`, ...values },
          ],
          ctx,
        ),
        (e: unknown) => {
          assert.ok(isValidation(e), `createMany with ${label}`)
          assert.equal((e as { details?: Record<string, unknown> }).details?.row, 1)
          return true
        },
      )
      await assert.rejects(
        f.auditor.transaction(ctx, async (tx) => {
          await tx.create(posts, { id: newId(), title: `tx fine ${newId()}` })
          await tx.update(posts, target, { title: `tx changed ${target}` })
          await tx.create(posts, { id, title: `bad ${id}`, ...values })
        }),
        isValidation,
        `transaction with ${label}`,
      )
      assert.equal(await eventCount(f.db), events, `${label}: no event`)
      assert.equal((await rowsOf(f.db, 'posts')).length, rows, `${label}: no row`)
      assert.equal(
        (await rowsOf(f.db, 'posts')).some((r) => r.id === id),
        false,
      )
      assert.deepEqual(canonicalize(await readRow(f, target)), canonicalize(targetBefore), `${label}: target`)
    }
    assert.equal((await f.auditor.events.history(posts, target)).events.length, 1)
  })
})
