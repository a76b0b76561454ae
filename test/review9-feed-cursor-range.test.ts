/**
 * Review 9: a feed cursor is client input. One whose position does not fit the database's
 * 64-bit feed position must be refused as `validation` (field `after`), not reach the
 * database and come back as an unclassified driver error; the largest position that fits
 * is a valid (empty) place to read from.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { AuditedError } from '../packages/audited/src/core/errors.js'
import { encodeFeedCursor } from '../packages/audited/src/feed/feed-cursor.js'
import { ctx, forEachDialect, newId, posts } from './setup.js'

const EVENT = '01JAAAAAAAAAAAAAAAAAAAAAAA'

forEachDialect('review9: feed cursor range', (f) => {
  it('refuses a position beyond 64 bits as validation; the largest one reads nothing', async () => {
    await f.auditor.create(posts, { id: newId(), title: 'x' }, ctx)
    const max = encodeFeedCursor({ position: 9223372036854775807n, eventId: EVENT })
    assert.deepEqual((await f.auditor.feed.read({ after: max })).events, [])
    for (const position of [9223372036854775808n, 9999999999999999999n]) {
      const after = encodeFeedCursor({ position, eventId: EVENT })
      await assert.rejects(
        () => f.auditor.feed.read({ after }),
        (e: unknown) =>
          e instanceof AuditedError &&
          e.code === 'validation' &&
          (e.details as { field?: string }).field === 'after',
        `position ${position}`,
      )
    }
  })
})
