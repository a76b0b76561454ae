/**
 * R11 (issue 7, data rule): the same input gets the same answer on every database. A NUL
 * (`\u0000`) or a lone surrogate (`\ud800`) in any string — a plain column, a JSON column,
 * the context, event metadata, a key — is a `validation` error naming the field, before
 * the database, and nothing is written. Audit date filters refuse dates that do not exist.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type AuditContext, isAuditedError } from '../packages/audited/src/index.js'
import { ctx, eventCount, forEachDialect, newId, posts, rowsOf } from './setup.js'

const BAD = { nul: 'a\u0000b', high: 'a\ud800b', low: '\udc00', reversed: '\udc00\ud800' } as const

const refused = (where: string) => (e: unknown) => {
  assert.ok(isAuditedError(e), `${where}: ${String(e)}`)
  assert.equal(e.code, 'validation', where)
  const named = JSON.stringify(e.details ?? {})
  assert.ok(named.includes(where), `${where} is named: ${e.message} ${named}`)
  return true
}

forEachDialect('R11: one text rule on every dialect', (f) => {
  it('R11: NUL and lone surrogates are refused in row values, JSON, context and metadata; nothing written', async () => {
    const id = newId()
    await f.auditor.create(posts, { id, title: 'r11' }, ctx)
    const events = await eventCount(f.db)
    const rows = canonicalRows(await rowsOf(f.db, 'posts'))
    for (const [kind, bad] of Object.entries(BAD)) {
      const label = (s: string) => `${s} (${kind})`
      await assert.rejects(
        () => f.auditor.create(posts, { id: newId(), title: bad }, ctx),
        refused('title'),
        label('create'),
      )
      await assert.rejects(
        () => f.auditor.update(posts, id, { body: bad }, ctx),
        refused('body'),
        label('update'),
      )
      await assert.rejects(
        () => f.auditor.update(posts, id, { tags: { list: ['ok', bad] } }, ctx),
        refused('tags.list[1]'),
        label('json'),
      )
      await assert.rejects(
        () => f.auditor.update(posts, id, { tags: { [`k${bad}`]: 1 } }, ctx),
        refused('tags'),
        label('json key'),
      )
      await assert.rejects(
        () =>
          f.auditor.createMany(
            posts,
            [
              { id: newId(), title: 'fine' },
              { id: newId(), title: bad },
            ],
            ctx,
          ),
        refused('title'),
        label('createMany'),
      )
      for (const field of ['actorId', 'requestId', 'ip', 'userAgent', 'reason', 'tenantId'] as const) {
        const c: AuditContext = { ...ctx, [field]: bad }
        await assert.rejects(
          () => f.auditor.update(posts, id, { title: 'x' }, c),
          refused(field),
          label(field),
        )
      }
      await assert.rejects(
        () => f.auditor.update(posts, id, { title: 'x' }, { ...ctx, metadata: { note: bad } }),
        refused('metadata.note'),
        label('metadata'),
      )
      await assert.rejects(
        () =>
          f.auditor.transaction(ctx, async (tx) => {
            await tx.update(posts, id, { title: 'first, fine' })
            await tx.update(posts, id, { body: bad })
          }),
        refused('body'),
        label('transaction'),
      )
    }
    for (const bad of Object.values(BAD)) {
      await assert.rejects(() => f.auditor.update(posts, `id${bad}`, { title: 'x' }, ctx), refused(''))
      await assert.rejects(() => f.auditor.events.list({ actorId: bad }), refused('actorId'))
    }
    assert.equal(await eventCount(f.db), events)
    assert.deepEqual(canonicalRows(await rowsOf(f.db, 'posts')), rows)
    // Well-formed text outside the BMP is fine everywhere.
    const ok = await f.auditor.update(posts, id, { body: '😀 \ud83d\ude00 𐀀' }, ctx)
    assert.equal(ok.body, '😀 😀 𐀀')
  })

  it('R11: audit date filters refuse dates that do not exist', async () => {
    for (const day of ['2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-32']) {
      for (const value of [day, `${day}T10:00:00Z`, `${day}T10:00:00.000+02:00`]) {
        await assert.rejects(() => f.auditor.events.list({ from: value }), refused('from'), value)
        await assert.rejects(() => f.auditor.events.list({ to: value }), refused('to'), value)
        await assert.rejects(() => f.auditor.events.stateAt(posts, 'x', value), refused('at'), value)
      }
    }
    for (const value of ['2024-02-29T24:00:00Z', '2024-02-29T10:60:00Z', '2024-02-29T10:00:61Z']) {
      await assert.rejects(() => f.auditor.events.list({ from: value }), refused('from'), value)
    }
    // Real dates (a leap day included) are accepted.
    await f.auditor.events.list({ from: '2024-02-29', to: '2024-02-29T23:59:59.999Z' })
    assert.equal(await f.auditor.events.stateAt(posts, 'nope', '2024-02-29T12:00:00+01:00'), null)
  })
})

/** Rows as comparable text (drivers return Dates and Buffers). */
function canonicalRows(rows: Record<string, unknown>[]): string {
  return JSON.stringify(rows)
}
