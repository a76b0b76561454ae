/**
 * S7 (issue 7): an own `__proto__` key (what `JSON.parse('{"__proto__":…}')` gives) is
 * kept by `canonicalize`, stored, and read back as an own key — nothing is lost silently.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { canonicalizeParsed } from '../packages/audited/src/core/canonical-json.js'
import { canonicalize, canonicalJson } from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId, posts, rowsOf } from './setup.js'

const hostile = () => JSON.parse('{"z":0,"__proto__":{"polluted":true,"__proto__":[1]},"a":1}')

/** True when `o` holds `__proto__` as an own key whose value is `expected`. */
function ownProto(o: unknown, expected: unknown): void {
  assert.equal(typeof o, 'object')
  assert.ok(Object.hasOwn(o as object, '__proto__'), 'own __proto__ kept')
  assert.deepEqual(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, expected)
  assert.equal(Object.getPrototypeOf(o), Object.prototype, 'the prototype is not replaced')
}

describe('S7: canonicalize keeps an own __proto__ key', () => {
  it('S7: canonicalize and canonicalizeParsed keep it, sorted, and pollute nothing', () => {
    const expected = '{"__proto__":{"__proto__":[1],"polluted":true},"a":1,"z":0}'
    assert.equal(canonicalJson(hostile()), expected)
    assert.equal(JSON.stringify(canonicalizeParsed(hostile())), expected)
    const c = canonicalize(hostile()) as Record<string, unknown>
    ownProto(c, JSON.parse('{"__proto__":[1],"polluted":true}'))
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    // Round trip: the canonical text parses back to the same canonical text.
    assert.equal(canonicalJson(JSON.parse(expected)), expected)
  })
})

forEachDialect('S7: __proto__ keys are stored and read back', (f) => {
  it('S7: a row value and event JSON with an own __proto__ key round-trip', async () => {
    const id = newId()
    const row = await f.auditor.create(
      posts,
      { id, title: 'proto', tags: hostile() },
      { ...ctx, metadata: JSON.parse('{"__proto__":"meta"}') },
    )
    ownProto(row.tags, JSON.parse('{"__proto__":[1],"polluted":true}'))
    const stored = (await rowsOf(f.db, 'posts')).find((r) => r.id === id)
    const tags = typeof stored?.tags === 'string' ? JSON.parse(stored.tags) : stored?.tags
    ownProto(tags, JSON.parse('{"__proto__":[1],"polluted":true}'))
    const [event] = (await f.auditor.events.history(posts, id, { tenantId: 'acme' })).events
    ownProto(event!.newValues!.tags, JSON.parse('{"__proto__":[1],"polluted":true}'))
    ownProto(event!.metadata, 'meta')
    const again = await f.auditor.events.get(event!.eventId)
    assert.equal(canonicalJson(again.newValues), canonicalJson(event!.newValues))
    // An update that drops the key is a change, and the old value is recorded.
    await f.auditor.update(posts, id, { tags: { a: 1, z: 0 } }, ctx)
    const history = (await f.auditor.events.history(posts, id, { tenantId: 'acme' })).events
    assert.deepEqual(history[1]!.changedFields, ['tags', 'version'])
    ownProto(history[1]!.oldValues!.tags, JSON.parse('{"__proto__":[1],"polluted":true}'))
  })
})
