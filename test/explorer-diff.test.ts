/**
 * The explorer's diff module (packages/cms/ui/src/diff.ts, words.ts): the same code the
 * browser runs, on plain values. Nested JSON by path, arrays of objects by id, word-level
 * text, masked (redacted, erased) values, the "changed fields only" filter.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { changesOnly, diffValues, keyPath } from '../packages/cms/ui/src/diff.js'
import { tokenize, wordDiff } from '../packages/cms/ui/src/words.js'

const kinds = (before: unknown, after: unknown) =>
  changesOnly(diffValues(before, after)).map((c) => `${c.kind} ${c.path}`)

describe('explorer diff', () => {
  it('compares nested JSON by path and lists unchanged leaves too', () => {
    const before = { title: 'A', data: { seo: { title: 'x', tags: ['a', 'b'] }, n: 1 } }
    const after = { title: 'A', data: { seo: { title: 'y', tags: ['a', 'c', 'd'] }, n: 1, extra: true } }
    assert.deepEqual(kinds(before, after), [
      'added data.extra',
      'changed data.seo.tags[1]',
      'added data.seo.tags[2]',
      'changed data.seo.title',
    ])
    const all = diffValues(before, after)
    assert.deepEqual(
      all.filter((c) => c.kind === 'unchanged').map((c) => c.path),
      ['data.n', 'data.seo.tags[0]', 'title'],
    )
    const t = all.find((c) => c.path === 'data.seo.title')!
    assert.equal(t.before, 'x')
    assert.equal(t.after, 'y')
  })

  it('quotes keys that are not identifiers', () => {
    assert.equal(keyPath('data', 'a b'), 'data["a b"]')
    assert.equal(keyPath('', 'title'), 'title')
    assert.deepEqual(kinds({ 'a.b': 1 }, { 'a.b': 2 }), ['changed ["a.b"]'])
  })

  it('matches arrays of objects by id: a reorder is no change, an edit is one path', () => {
    const before = {
      blocks: [
        { id: 'b1', text: 'one' },
        { id: 'b2', text: 'two' },
        { id: 'b3', text: 'three' },
      ],
    }
    const after = {
      blocks: [
        { id: 'b0', text: 'zero' },
        { id: 'b2', text: 'TWO' },
        { id: 'b1', text: 'one' },
      ],
    }
    assert.deepEqual(kinds(before, after), [
      'added blocks[id="b0"]',
      'changed blocks[id="b2"].text',
      'removed blocks[id="b3"]',
    ])
    // numeric ids too
    assert.deepEqual(kinds({ l: [{ id: 1, v: 1 }] }, { l: [{ id: 1, v: 2 }] }), ['changed l[id=1].v'])
  })

  it('falls back to positions when ids are missing or repeated', () => {
    const before = { l: [{ id: 'a' }, { id: 'a', v: 1 }] }
    const after = { l: [{ id: 'a' }, { id: 'a', v: 2 }] }
    assert.deepEqual(kinds(before, after), ['changed l[1].v'])
    assert.deepEqual(kinds({ l: [{ v: 1 }] }, { l: [{ v: 1 }, { v: 2 }] }), ['added l[1]'])
  })

  it('diffs long text word by word', () => {
    const before = { body: 'The quick brown fox jumps over the lazy dog, twice a day.' }
    const after = { body: 'The quick red fox jumps over the lazy cat, twice a day.' }
    const [c] = changesOnly(diffValues(before, after))
    assert.equal(c!.kind, 'changed')
    const words = c!.words!
    assert.deepEqual(
      words.filter((w) => w.op !== 'same'),
      [
        { op: 'del', text: 'brown' },
        { op: 'add', text: 'red' },
        { op: 'del', text: 'dog' },
        { op: 'add', text: 'cat' },
      ],
    )
    // reassembling each side gives the texts back
    assert.equal(
      words
        .filter((w) => w.op !== 'add')
        .map((w) => w.text)
        .join(''),
      before.body,
    )
    assert.equal(
      words
        .filter((w) => w.op !== 'del')
        .map((w) => w.text)
        .join(''),
      after.body,
    )
    // short strings carry no word diff
    assert.equal(changesOnly(diffValues({ t: 'a b' }, { t: 'a c' }))[0]!.words, undefined)
  })

  it('word diff keeps unicode words whole and handles empty sides', () => {
    assert.deepEqual(tokenize('Grüße, 世界!'), ['Grüße', ',', ' ', '世界', '!'])
    assert.deepEqual(wordDiff('', 'new text'), [{ op: 'add', text: 'new text' }])
    assert.deepEqual(wordDiff('old', ''), [{ op: 'del', text: 'old' }])
    assert.deepEqual(wordDiff('same', 'same'), [{ op: 'same', text: 'same' }])
  })

  it('reports redacted and erased values as masked, never as text changes', () => {
    const before = { password_hash: '[redacted]', email: 'a@x.test', name: '[erased]' }
    const after = { password_hash: '[redacted]', email: '[erased]', name: '[erased]' }
    const changes = diffValues(before, after)
    const by = (p: string) => changes.find((c) => c.path === p)!
    assert.equal(by('password_hash').kind, 'masked')
    assert.equal(by('password_hash').beforeMarker, 'redacted')
    assert.equal(by('name').kind, 'masked')
    assert.equal(by('name').afterMarker, 'erased')
    assert.equal(by('email').kind, 'changed')
    assert.equal(by('email').beforeMarker, undefined)
    assert.equal(by('email').afterMarker, 'erased')
    // masked is not "unchanged": the filter keeps it
    assert.equal(changesOnly(changes).length, 3)
  })

  it('a record that did not exist (create) or no longer exists (delete) is all added / removed', () => {
    assert.deepEqual(kinds(null, { a: 1, b: { c: 2 } }), ['added a', 'added b'])
    assert.deepEqual(kinds({ a: 1 }, null), ['removed a'])
    assert.deepEqual(kinds({ a: 1 }, { a: 1 }), [])
  })

  it('type changes and null values are changes of the leaf', () => {
    assert.deepEqual(kinds({ a: { b: 1 } }, { a: null }), ['changed a'])
    assert.deepEqual(kinds({ a: [1] }, { a: { 0: 1 } }), ['changed a'])
    assert.deepEqual(kinds({ a: 1 }, { a: '1' }), ['changed a'])
  })
})
