/** HTTP fuzzing: body fields, both mutated (to be rejected) and well-formed (to pass validation). */
import fc from 'fast-check'
import { ROLES } from '../packages/cms/src/cms/entities.js'
import { FIELD_TYPES } from '../packages/cms/src/server/routes/content.js'
import { nearUlid, ulid } from './fuzz-requests.js'
import type { Known } from './fuzz-support.js'
import { anyJson, deep, mutated, number, text } from './fuzz-values.js'
import { ADMIN } from './http-setup.js'

// ------------------------------------------------------------------------- body generators

export const role: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ROLES) },
  { weight: 1, arbitrary: fc.constantFrom('ADMIN', 'platform_admin', 'owner', 'root') },
  { weight: 1, arbitrary: anyJson },
)
export const email: fc.Arbitrary<unknown> = fc.oneof(
  fc.emailAddress(),
  fc.constantFrom(ADMIN.email, ADMIN.email.toUpperCase(), 'a@b.c', 'no-at-sign', '@x.y', 'a@b', 'a b@c.d'),
  text,
)
export const url: fc.Arbitrary<unknown> = fc.oneof(
  fc.webUrl(),
  fc.constantFrom(
    'http://example.com/hook',
    'https://example.com/?q=1#x',
    'javascript:alert(1)',
    'ftp://example.com',
    'http://user@example.com/',
    'http://',
    `https://example.com/${'a'.repeat(2000)}`,
    'http://exa mple.com',
  ),
  text,
)
export const typeKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('article', 'scratch', 'other_type', 'a'.repeat(64), 'a'.repeat(65)),
  },
  { weight: 1, arbitrary: text },
)
export const field: fc.Arbitrary<unknown> = mutated(
  fc.record(
    {
      name: fc.oneof(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,10}$/), text),
      type: fc.oneof(fc.constantFrom(...FIELD_TYPES), text),
      required: fc.boolean(),
      unique: fc.boolean(),
      options: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'c', 'a')), fc.array(text, { maxLength: 3 })),
    },
    { requiredKeys: ['name', 'type'] },
  ),
)
export const version: fc.Arbitrary<unknown> = fc.oneof(fc.integer({ min: 1, max: 6 }), number, text)
export const locale: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('en', 'fr', 'pt-BR', 'zh-Hant-TW', 'abc-abcdefgh-abcdefgh', 'EN'),
  fc.stringMatching(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,2}$/),
  text,
)
export const status: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('draft', 'published', 'archived', 'deleted'),
  text,
)
export const datetime: fc.Arbitrary<unknown> = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2024-05-01',
    '2024-02-30',
    '2024-05-01T12:00Z',
    '2024-05-01T12:00:00.123456789+14:00',
    '+275760-09-13T00:00:00.000Z',
    '0000-01-01',
  ),
  text,
)

/** Data for the `article` type: mostly the right types, sometimes not. */
export function articleData(K: Known): fc.Arbitrary<unknown> {
  const orJunk = <T>(good: fc.Arbitrary<T>) =>
    fc.oneof(
      { weight: 5, arbitrary: good as fc.Arbitrary<unknown> },
      { weight: 1, arbitrary: anyJson },
      { weight: 1, arbitrary: fc.constant(null) },
    )
  return mutated(
    fc.record(
      {
        title: orJunk(fc.oneof(text, fc.constant('t'.repeat(1001)))),
        slug: orJunk(fc.oneof(fc.constantFrom('hello', 'spare-0', 'other'), fc.uuid())),
        body: orJunk(fc.oneof(text, fc.constant('b'.repeat(100_001)))),
        count: orJunk(fc.oneof(fc.integer(), number)),
        score: orJunk(number),
        flag: orJunk(fc.boolean()),
        when: orJunk(datetime),
        meta: orJunk(fc.oneof(fc.jsonValue(), deep)),
        kind: orJunk(fc.oneof(fc.constantFrom('a', 'b', 'c'), text)),
        ref: orJunk(
          fc.oneof(
            fc.constantFrom(K.entryId, K.otherEntryId, K.webhookId, ...K.spareEntryIds),
            ulid,
            nearUlid,
          ),
        ),
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<Record<string, unknown>>,
  )
}

// ------------------------------------------------------------------ well-formed generators

export const goodName = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
  .filter((x) => /\S/.test(x))
export const goodFieldName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,10}$/)
export const goodField = fc.oneof(
  fc.record(
    {
      name: goodFieldName,
      type: fc.constantFrom(...FIELD_TYPES.filter((t) => t !== 'enum')),
      required: fc.boolean(),
      unique: fc.boolean(),
    },
    { requiredKeys: ['name', 'type'] },
  ),
  fc.record(
    {
      name: goodFieldName,
      type: fc.constant('enum'),
      options: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 4 }),
      unique: fc.boolean(),
    },
    { requiredKeys: ['name', 'type', 'options'] },
  ),
)
export const goodFields = fc.uniqueArray(goodField, { selector: (x) => x.name, maxLength: 5 })
export const goodEmail = fc.uuid().map((u) => `${u}@example.test`)
export const goodPassword = fc.nat().map((n) => `password-${n}`)
export const goodRole = fc.constantFrom(...ROLES)
export const goodUrl = fc.nat().map((n) => `https://hooks.example/${n}?x=1`)
export const goodEvents = fc.uniqueArray(
  fc.constantFrom('*', 'entries.*', 'entries.publish', 'media.create'),
  {
    minLength: 1,
  },
)
export const goodDate = fc
  .date({ min: new Date(0), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString())
export const goodPage = fc
  .record({ limit: fc.integer({ min: 1, max: 200 }).map(String), after: ulid }, { requiredKeys: [] })
  .map((o) => new URLSearchParams(o).toString())

/** Well-typed data for the `article` type (the slug is now and then already taken). */
export function goodArticle(K: Known, requireTitle: boolean) {
  return fc.record(
    {
      title: fc.string({ maxLength: 50 }),
      slug: fc.oneof(
        { weight: 6, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: fc.constantFrom('hello', 'spare-0') },
      ),
      body: fc.string({ maxLength: 200 }),
      count: fc.integer(),
      score: fc.double({ noNaN: true, noDefaultInfinity: true }),
      flag: fc.boolean(),
      when: goodDate,
      meta: fc.oneof({ weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: deep }),
      kind: fc.constantFrom('a', 'b', 'c'),
      ref: fc.constantFrom(K.entryId, ...K.spareEntryIds),
    },
    { requiredKeys: requireTitle ? ['title'] : [] },
  )
}
