/**
 * Over HTTP, every `conflict` and `unavailable` answer names its `details.reason`, the same
 * one on every database (the library side: test/error-reasons.test.ts; `pool_exhausted`
 * and `circuit_open` over HTTP: test/http-pressure.test.ts).
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import {
  createAuditor,
  ERROR_CODES,
  type ErrorCode,
  type ErrorReason,
} from '../packages/audited/src/index.js'
import { entries } from '../packages/cms/src/cms/entities.js'
import { ADMIN, forEachHttpDialect, type HttpFixture } from './http-setup.js'
import { holdLock } from './lock-holder.js'
import { PERSONAL_DATA } from './setup.js'

/** The answer is the catalogue's status, code and reason, in the error envelope. */
function assertReason<C extends ErrorCode>(
  res: Awaited<ReturnType<HttpFixture['call']>>,
  code: C,
  reason: ErrorReason<C>,
): void {
  const info = ERROR_CODES[code]
  const status = (info.reasons as Record<string, { status?: number }>)[reason]?.status ?? info.status
  assert.equal(res.status, status, JSON.stringify(res.body))
  assert.equal(res.body.error.code, code)
  assert.equal(res.body.error.details?.reason, reason, JSON.stringify(res.body))
  assert.equal(typeof res.body.error.requestId, 'string')
  if (status === 503) assert.ok(Number(res.headers['retry-after']) >= 1)
}

const TYPE = {
  key: 'note',
  name: 'Note',
  fields: [
    { name: 'title', type: 'string', required: true },
    { name: 'slug', type: 'string', unique: true },
    { name: 'tag', type: 'string' },
  ],
}

forEachHttpDialect(
  'http error reasons',
  (f) => {
    let entryUrl: string
    before(async () => {
      assert.equal((await f.call('POST', '/api/v1/content-types', { body: TYPE })).status, 201)
      const entry = await f.call('POST', '/api/v1/entries/note', {
        body: { data: { title: 'one', slug: 'one' } },
      })
      assert.equal(entry.status, 201, JSON.stringify(entry.body))
      entryUrl = `/api/v1/entries/note/${entry.body.id}`
    })

    it('conflict/unique: a content type key and a unique field value already taken', async () => {
      assertReason(await f.call('POST', '/api/v1/content-types', { body: TYPE }), 'conflict', 'unique')
      const clash = await f.call('POST', '/api/v1/entries/note', {
        body: { data: { title: 'two', slug: 'one' } },
      })
      assertReason(clash, 'conflict', 'unique')
      assert.equal(clash.body.error.details.field, 'slug')
    })

    it('conflict/version: a patch with a stale version', async () => {
      assert.equal(
        (await f.call('PATCH', entryUrl, { body: { data: { title: 'edited' }, version: 1 } })).status,
        200,
      )
      const stale = await f.call('PATCH', entryUrl, { body: { data: { title: 'lost' }, version: 1 } })
      assertReason(stale, 'conflict', 'version')
      assert.equal(stale.body.error.details.currentVersion, 2)
    })

    it('conflict/foreign_key: deleting a content type its entries still refer to', async () => {
      assertReason(await f.call('DELETE', '/api/v1/content-types/note'), 'conflict', 'foreign_key')
    })

    it('conflict/has_entries: making a field unique while the type has entries', async () => {
      const fields = TYPE.fields.map((field) => (field.name === 'tag' ? { ...field, unique: true } : field))
      assertReason(
        await f.call('PATCH', '/api/v1/content-types/note', { body: { fields } }),
        'conflict',
        'has_entries',
      )
    })

    it('conflict/self: a user changing their own role or deleting themselves', async () => {
      const users = await f.call('GET', '/api/v1/users?limit=200')
      const me = (users.body.items ?? users.body.users).find(
        (u: { email: string }) => u.email === ADMIN.email,
      )
      assert.ok(me, JSON.stringify(users.body))
      assertReason(
        await f.call('PATCH', `/api/v1/users/${me.id}`, { body: { role: 'viewer' } }),
        'conflict',
        'self',
      )
      assertReason(await f.call('DELETE', `/api/v1/users/${me.id}`), 'conflict', 'self')
    })

    it('unavailable/statement_timeout: a patch waits for a row another connection holds locked', async () => {
      const id = entryUrl.split('/').at(-1)!
      const held = await holdLockOnEntry(f, id)
      try {
        const res = await f.call('PATCH', entryUrl, { body: { data: { title: 'waited' } } })
        assertReason(res, 'unavailable', 'statement_timeout')
      } finally {
        await held.release()
      }
      assert.equal((await f.call('PATCH', entryUrl, { body: { data: { title: 'after' } } })).status, 200)
    })

    it('validation/body_too_large: 413 from the catalogue', async () => {
      const big = 'x'.repeat(1024 * 1024 + 10)
      const res = await f.call('POST', '/api/v1/entries/note', { body: { data: { title: big } } })
      assertReason(res, 'validation', 'body_too_large')
    })
  },
  // The database gives up on a lock wait well before the engine's own deadline.
  { db: { pool: { statementTimeoutMs: 500 }, sqlite: { busyTimeoutMs: 100 } }, auditorTimeoutMs: 20_000 },
)

/** The entry's row locked by another connection (on SQLite: the writer lock). */
function holdLockOnEntry(f: HttpFixture, id: string) {
  return holdLock(f.name, f.url, id, 'entries')
}

forEachHttpDialect(
  'http error reasons: the engine deadline',
  (f) => {
    it('unavailable/timeout: a patch waits for a record another transaction holds, past its timeoutMs', async () => {
      assert.equal((await f.call('POST', '/api/v1/content-types', { body: TYPE })).status, 201)
      const entry = await f.call('POST', '/api/v1/entries/note', { body: { data: { title: 'one' } } })
      assert.equal(entry.status, 201, JSON.stringify(entry.body))
      const url = `/api/v1/entries/note/${entry.body.id}`
      // Another writer of this process (its own, long deadline) holds the row (on SQLite: the writer).
      const holder = createAuditor({ personalData: PERSONAL_DATA, db: f.db, timeoutMs: 20_000 })
      let locked!: () => void
      let release!: () => void
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve
      })
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      const holding = holder.transaction(
        { tenantId: f.tenantId, actorId: 'holder', actorType: 'system' },
        async (tx) => {
          await tx.update(entries, entry.body.id, { locale: entry.body.locale })
          locked()
          await released
        },
      )
      await isLocked
      try {
        assertReason(
          await f.call('PATCH', url, { body: { data: { title: 'waited' } } }),
          'unavailable',
          'timeout',
        )
      } finally {
        release()
        await holding
      }
      assert.equal((await f.call('PATCH', url, { body: { data: { title: 'after' } } })).status, 200)
    })
  },
  // The engine gives up (timeoutMs) well before the database would.
  { db: { pool: { statementTimeoutMs: 20_000 }, sqlite: { busyTimeoutMs: 20_000 } }, auditorTimeoutMs: 400 },
)
