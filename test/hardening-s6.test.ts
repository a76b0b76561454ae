/**
 * S6 (issue 7, engine part): every context string is validated to the size of the column
 * that stores it, identically on every dialect: exactly the limit is stored and read back
 * unchanged everywhere; one character more is a `validation` error naming the field, and
 * nothing is written.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { CONTEXT_COLUMN_SIZES } from '../packages/audited/src/core/audit-context.js'
import { type AuditContext, isAuditedError } from '../packages/audited/src/index.js'
import { counters, ctx, eventCount, forEachDialect, newId, posts, rowsOf } from './setup.js'

type Field = keyof typeof CONTEXT_COLUMN_SIZES

/** `n` characters (code points, as the databases count them), mixing 1- to 4-byte UTF-8. */
const chars = (n: number): string =>
  Array.from({ length: n }, (_, i) => ['a', 'é', '漢', '😀'][i % 4]).join('')

forEachDialect('S6: context fields are validated to their column sizes', (f) => {
  it('S6: every context field at exactly its limit is stored and read back unchanged', async () => {
    const max: AuditContext = {
      ...ctx,
      tenantId: chars(CONTEXT_COLUMN_SIZES.tenantId),
      actorId: chars(CONTEXT_COLUMN_SIZES.actorId),
      requestId: chars(CONTEXT_COLUMN_SIZES.requestId),
      ip: chars(CONTEXT_COLUMN_SIZES.ip),
      userAgent: chars(CONTEXT_COLUMN_SIZES.userAgent),
      reason: chars(CONTEXT_COLUMN_SIZES.reason),
    }
    // counters has no tenant column: the event records ctx.tenantId at its full size.
    const made = await f.auditor.create(counters, { name: 's6-max' }, max)
    const [event] = (await f.auditor.events.history(counters, made.id)).events
    assert.ok(event !== undefined)
    assert.deepEqual((await f.auditor.events.get(event.eventId)).ip, max.ip)
    for (const field of ['tenantId', 'actorId', 'requestId', 'ip', 'userAgent', 'reason'] as const) {
      assert.equal(event[field], max[field], field)
    }
  })

  it('S6: one character over any limit is refused with validation naming the field, nothing written', async () => {
    const before = await eventCount(f.db)
    const rows = (await rowsOf(f.db, 'posts')).length
    for (const field of Object.keys(CONTEXT_COLUMN_SIZES) as Field[]) {
      const over: AuditContext = { ...ctx, [field]: chars(CONTEXT_COLUMN_SIZES[field] + 1) }
      await assert.rejects(
        () => f.auditor.create(posts, { id: newId(), title: `s6-${field}` }, over),
        (e) =>
          isAuditedError(e) &&
          e.code === 'validation' &&
          e.details?.field === field &&
          e.message.includes(field),
        field,
      )
    }
    assert.equal(await eventCount(f.db), before)
    assert.equal((await rowsOf(f.db, 'posts')).length, rows)
  })
})
