/**
 * Review of SQLite group commit (sqlite-group-commit.ts): the interleavings that the
 * burst tests of group-commit.test.ts reach only by chance, forced here with gates. Each
 * body states what a caller may rely on; PostgreSQL and MariaDB (every transaction commits
 * alone) are the reference wherever the scenario exists there.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import Database from 'better-sqlite3'
import { type Kysely, sql } from 'kysely'
import {
  type AuditedDatabase,
  createAuditor,
  defineEntity,
  isAuditedError,
} from '../packages/audited/src/index.js'
import { gate } from './gate.js'
import {
  committedCounters,
  ctx,
  forEachDialect,
  installFailingTrigger,
  newId,
  PERSONAL_DATA,
  posts,
} from './setup.js'

const isCode = (e: unknown, code: string) => isAuditedError(e) && e.code === code

type EventsTable = { change_events: { record_id: string } }

/** Whether the row exists and how many events name it, read on the fixture's own handle. */
async function stored(
  db: AuditedDatabase,
  table: string,
  id: string,
): Promise<{ row: boolean; events: number }> {
  const k = db.kysely as Kysely<Record<string, { id: string }> & EventsTable>
  const rows = await k.selectFrom(table).select('id').where('id', '=', id).execute()
  const events = await (db.kysely as Kysely<EventsTable>)
    .selectFrom('change_events')
    .select('record_id')
    .where('record_id', '=', id)
    .execute()
  return { row: rows.length === 1, events: events.length }
}

/** A caller told "committed" finds its row and one event; a failed caller finds neither. */
async function assertOutcome(
  db: AuditedDatabase,
  table: string,
  id: string,
  outcome: PromiseSettledResult<unknown>,
  label: string,
): Promise<void> {
  const s = await stored(db, table, id)
  const ok = outcome.status === 'fulfilled'
  const why = ok ? '' : ` (${String((outcome as PromiseRejectedResult).reason)})`
  assert.deepEqual(s, { row: ok, events: ok ? 1 : 0 }, `${label}: ${outcome.status}${why}`)
}

forEachDialect('group commit review: a member that waits', (f) => {
  it('a transaction that waits for an earlier write does not hold that write’s COMMIT hostage', async () => {
    // A finishes first and waits for the shared COMMIT; B, grouped behind it, waits for A's
    // answer before it goes on. Committing alone (PostgreSQL, MariaDB, or SQLite before
    // group commit) A is answered at once and both succeed; a group that can only commit
    // once B is done deadlocked here until B's timeout.
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db: f.db, timeoutMs: 3000 })
    const warm = newId()
    await auditor.create(posts, { id: warm, title: `warm ${warm}` }, ctx) // columns cached
    const a = newId()
    const b = newId()
    const first = auditor.create(posts, { id: a, title: `first ${a}` }, ctx)
    const second = auditor.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: b, title: `second ${b}` })
      await first
    })
    const [outA, outB] = await Promise.allSettled([first, second])
    await assertOutcome(f.db, 'posts', a, outA!, 'the first write')
    await assertOutcome(f.db, 'posts', b, outB!, 'the waiting transaction')
    assert.equal(outA!.status, 'fulfilled')
    assert.equal(outB!.status, 'fulfilled', 'the waiting transaction is not timed out by its own wait')
  })

  it('a grouped member that reads again after its group committed without it sees the same data, or fails', {
    skip:
      f.name === 'sqlite'
        ? undefined
        : 'only on SQLite can another writer change a record between two statements of a transaction that wrote it (elsewhere its row lock makes that writer wait for it)',
  }, async (t) => {
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db: f.db, timeoutMs: 3000 })
    // Another process's connection: not a second handle of this process, which would
    // queue on this process's writer lock behind the open transaction (sqlite-file-locks.ts).
    const other = new Database(f.url.slice('sqlite:'.length), { timeout: 2000 })
    t.after(() => other.close())
    const target = newId()
    await auditor.create(posts, { id: target, title: `target ${target}` }, ctx)
    const a = newId()
    const b = newId()
    const resume = gate()
    const first = auditor.create(posts, { id: a, title: `first ${a}` }, ctx)
    const second = auditor.transaction(ctx, async (tx) => {
      await tx.update(posts, target, { body: 'from the transaction' })
      await resume.wait
      await tx.create(posts, { id: b, title: `second ${b}` })
    })
    // Once the first write is answered its COMMIT has happened; another writer then
    // changes the record the transaction updated, before the transaction goes on.
    const outA = await first.then(
      (v) => ({ status: 'fulfilled', value: v }) as const,
      (reason: unknown) => ({ status: 'rejected', reason }) as const,
    )
    if (outA.status === 'fulfilled') {
      other
        .prepare('UPDATE posts SET title = ? WHERE id = ?')
        .run(`changed by another writer ${target}`, target)
    }
    resume.open()
    const [outB] = await Promise.allSettled([second])
    await assertOutcome(f.db, 'posts', a, outA, 'the first write')
    assert.equal(outA.status, 'fulfilled')
    const [row] = await (f.db.kysely as Kysely<{ posts: { id: string; title: string; body: string | null } }>)
      .selectFrom('posts')
      .select(['title', 'body'])
      .where('id', '=', target)
      .execute()
    if (outB!.status === 'fulfilled') {
      // Both changes are in the row, and the transaction's event describes that row: had
      // the transaction gone on from its first reading, its event would show the title the
      // other writer had already replaced.
      assert.equal(row!.title, `changed by another writer ${target}`)
      assert.equal(row!.body, 'from the transaction')
      const history = (await auditor.events.history(posts, target, { tenantId: ctx.tenantId })).events
      const last = history.at(-1)!
      assert.equal(last.action, 'update')
      assert.equal(last.newValues?.title, row!.title, 'the event matches the committed row')
    } else {
      const reason = outB!.reason as { details?: { reason?: string } }
      // Another commit changed what it read: the failure PostgreSQL calls a serialization failure.
      assert.ok(isCode(reason, 'conflict'), `a retryable failure: ${String(reason)}`)
      assert.equal(
        reason.details?.reason,
        'serialization',
        'it failed at once, not by waiting out its timeout',
      )
      assert.equal((reason as { retryable?: boolean }).retryable, true)
      assert.equal(row!.body, null, 'the failed transaction left nothing')
      assert.equal(row!.title, `changed by another writer ${target}`)
      assert.deepEqual(await stored(f.db, 'posts', b), { row: false, events: 0 })
    }
  })

  it('a waiting member whose before hook changed the rows it read still commits', async () => {
    const b = newId()
    const auditor = createAuditor({
      personalData: PERSONAL_DATA,
      db: f.db,
      timeoutMs: 3000,
      hooks: {
        async before(change) {
          if (change.recordId !== b) return
          const rows = await change.read<{ id: string; title: string }>(
            (f.db.kysely as Kysely<{ posts: { id: string; title: string } }>)
              .selectFrom('posts')
              .select(['id', 'title'])
              .where('id', '=', b),
          )
          assert.equal(rows.length, 1, 'the hook sees the write it checks')
          rows[0]!.title = 'changed by the hook' // its own copy to do with as it likes
          rows.pop()
        },
      },
    })
    const warm = newId()
    await auditor.create(posts, { id: warm, title: `warm ${warm}` }, ctx)
    const a = newId()
    const first = auditor.create(posts, { id: a, title: `first ${a}` }, ctx)
    const second = auditor.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: b, title: `second ${b}` })
      await first // outlasts its group (on SQLite)
      await tx.create(posts, { id: newId(), title: `third ${b}` })
    })
    const [outA, outB] = await Promise.allSettled([first, second])
    await assertOutcome(f.db, 'posts', a, outA!, 'the first write')
    await assertOutcome(f.db, 'posts', b, outB!, 'the transaction with the hook')
    assert.equal(outB!.status, 'fulfilled')
  })

  it('a caller aborted while its write waits for the shared COMMIT is answered by that COMMIT', async () => {
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db: f.db, timeoutMs: 3000 })
    const abort = new AbortController()
    const a = newId()
    const b = newId()
    const first = auditor.create(posts, { id: a, title: `first ${a}` }, { ...ctx, signal: abort.signal })
    const second = auditor.transaction(ctx, async (tx) => {
      // Runs once the first write is done with the connection (on SQLite: deferred, its
      // COMMIT still to come; elsewhere already committed): too late to abort it.
      abort.abort(new Error('client went away'))
      await tx.create(posts, { id: b, title: `second ${b}` })
    })
    const [outA, outB] = await Promise.allSettled([first, second])
    await assertOutcome(f.db, 'posts', a, outA!, 'the aborted write')
    await assertOutcome(f.db, 'posts', b, outB!, 'the other write')
    assert.equal(outB!.status, 'fulfilled')
  })

  it('a wait for the writer that timed out is handed back without breaking the group', async () => {
    const db = await f.open({ pool: { max: 1, acquireTimeoutMs: 50 } })
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db, timeoutMs: 3000 })
    const a = newId()
    const c = newId()
    const late = newId()
    const hold = gate()
    let lateOutcome: Promise<PromiseSettledResult<unknown>> | undefined
    const first = auditor.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: a, title: `first ${a}` })
      // A write queued now gives up waiting for the connection; only then does this one
      // go on, so the connection reaches that write after it left.
      lateOutcome = Promise.allSettled([
        auditor.create(posts, { id: late, title: `late ${late}` }, ctx),
      ]).then(([o]) => o!)
      await lateOutcome
      hold.open()
    })
    await hold.wait
    const third = auditor.create(posts, { id: c, title: `third ${c}` }, ctx)
    const [outA, outC] = await Promise.allSettled([first, third])
    const outLate = await lateOutcome!
    assert.equal(outLate.status, 'rejected')
    assert.ok(isCode((outLate as PromiseRejectedResult).reason, 'unavailable'))
    await assertOutcome(f.db, 'posts', late, outLate, 'the write that gave up')
    await assertOutcome(f.db, 'posts', a, outA!, 'the write that held the connection')
    await assertOutcome(f.db, 'posts', c, outC!, 'the next write')
    assert.equal(outA!.status, 'fulfilled')
    assert.equal(outC!.status, 'fulfilled')
  })

  it('a Kysely transaction queued behind a group runs outside it', async () => {
    const k = f.db.kysely as Kysely<{ counters: { name: string; n: number } }>
    const ids = Array.from({ length: 8 }, () => newId())
    const name = `kysely tx ${newId()}`
    const inside = gate()
    const writes = ids.slice(0, 4).map((id) => f.auditor.create(posts, { id, title: `before ${id}` }, ctx))
    const held = f.auditor.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: ids[4]!, title: `held ${ids[4]}` })
      await inside.wait
    })
    const plain = k.transaction().execute(async (trx) => {
      await trx.insertInto('counters').values({ name, n: 1 }).execute()
      return name
    })
    const after = ids.slice(5).map((id) => f.auditor.create(posts, { id, title: `after ${id}` }, ctx))
    inside.open()
    const outcomes = await Promise.allSettled([...writes, held, plain, ...after])
    for (const o of outcomes) assert.equal(o.status, 'fulfilled', JSON.stringify(o))
    assert.equal(await committedCounters(f.db, name), 1, 'the Kysely transaction committed')
    for (const id of ids) assert.deepEqual(await stored(f.db, 'posts', id), { row: true, events: 1 }, id)
  })
})

forEachDialect('group commit review: a second writer holds the database', (f) => {
  it('a transaction whose BEGIN found the database busy never writes outside a transaction', {
    skip:
      f.name === 'sqlite'
        ? undefined
        : 'a BEGIN that fails while another connection holds the write lock is SQLite’s (SQLITE_BUSY); server databases lock rows, not the database',
  }, async () => {
    const writer = await f.open({ sqlite: { busyTimeoutMs: 10 } })
    const holder = await f.open()
    // A fresh auditor: its first statement is the catalogue lookup, which carries BEGIN
    // and, as a read, leaves the transaction usable when it fails.
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db: writer })
    const one = newId()
    const two = newId()
    let firstError: unknown
    await sql`BEGIN IMMEDIATE`.execute(holder.kysely)
    const outcome = await Promise.allSettled([
      auditor.transaction(ctx, async (tx) => {
        try {
          await tx.create(posts, { id: one, title: `one ${one}` })
        } catch (e) {
          firstError = e // "busy, retry": the caller may well go on
        }
        await sql`ROLLBACK`.execute(holder.kysely) // the other writer lets go
        await tx.create(posts, { id: two, title: `two ${two}` })
      }),
    ])
    assert.ok(
      isCode(firstError, 'unavailable'),
      `the first write saw the busy database: ${String(firstError)}`,
    )
    await assertOutcome(f.db, 'posts', one, { status: 'rejected', reason: firstError }, 'the busy write')
    await assertOutcome(f.db, 'posts', two, outcome[0]!, 'the write after it')
  })
})

forEachDialect('group commit review: a write that rolls back the whole transaction', (f) => {
  it('fails alone: the writes grouped with it commit', async () => {
    // SQLite: RAISE(ROLLBACK) ends the whole transaction, not just the statement (the
    // server databases have no such trigger action: their trigger fails the statement).
    await installFailingTrigger(f.db, {
      name: 'forbidden_title',
      table: 'posts',
      column: 'title',
      prefix: 'forbidden',
      message: 'forbidden title',
      sqliteAction: 'ROLLBACK',
    })
    const before = Array.from({ length: 12 }, () => newId())
    const after = Array.from({ length: 6 }, () => newId())
    const bad = newId()
    const runs = [
      ...before.map((id) => f.auditor.create(posts, { id, title: `neighbour ${id}` }, ctx)),
      f.auditor.create(posts, { id: bad, title: `forbidden ${bad}` }, ctx),
      ...after.map((id) => f.auditor.create(posts, { id, title: `neighbour ${id}` }, ctx)),
    ]
    const outcomes = await Promise.allSettled(runs)
    const ids = [...before, bad, ...after]
    for (const [i, o] of outcomes.entries()) await assertOutcome(f.db, 'posts', ids[i]!, o, `write ${i}`)
    assert.equal(outcomes[before.length]!.status, 'rejected', 'the forbidden write fails')
    for (const [i, o] of outcomes.entries())
      if (i !== before.length) assert.equal(o.status, 'fulfilled', `neighbour ${i}: ${JSON.stringify(o)}`)
  })
})

interface Tag {
  id: string
  name: string
}
const tags = defineEntity<Tag>({ table: 'tags_rollback' })

forEachDialect('group commit review: a table whose conflicts roll back the transaction', (f) => {
  it('fails only the conflicting write', {
    skip:
      f.name === 'sqlite'
        ? undefined
        : 'ON CONFLICT ROLLBACK in a table definition is SQLite’s; elsewhere a unique violation fails its statement',
  }, async () => {
    await sql`CREATE TABLE tags_rollback (id varchar(26) PRIMARY KEY, name varchar(100) UNIQUE ON CONFLICT ROLLBACK)`.execute(
      f.db.kysely as Kysely<unknown>,
    )
    const noTenant = { ...ctx, tenantId: null }
    await f.auditor.create(tags, { id: newId(), name: 'taken' }, noTenant)
    const before = Array.from({ length: 12 }, () => newId())
    const bad = newId()
    const runs = [
      ...before.map((id) => f.auditor.create(tags, { id, name: `free ${id}` }, noTenant)),
      f.auditor.create(tags, { id: bad, name: 'taken' }, noTenant),
    ]
    const outcomes = await Promise.allSettled(runs)
    const ids = [...before, bad]
    for (const [i, o] of outcomes.entries())
      await assertOutcome(f.db, 'tags_rollback', ids[i]!, o, `write ${i}`)
    assert.ok(isCode((outcomes.at(-1) as PromiseRejectedResult).reason, 'conflict'))
    for (const o of outcomes.slice(0, -1)) assert.equal(o.status, 'fulfilled', JSON.stringify(o))
  })
})

forEachDialect('group commit review: closing the database', (f) => {
  it('closing it while a group waits settles every caller and frees the writer', {
    timeout: 20_000,
    skip:
      f.name === 'sqlite'
        ? undefined
        : 'a server pool’s end() waits for the connection this transaction holds: closing from inside a transaction is possible only on SQLite',
  }, async () => {
    const db = await f.open()
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db, timeoutMs: 3000 })
    const warm = newId()
    await auditor.create(posts, { id: warm, title: `warm ${warm}` }, ctx)
    const a = newId()
    // The first write finishes and waits for the shared COMMIT; the transaction queued
    // behind it closes the database without writing (a shutdown racing a request).
    const first = auditor.create(posts, { id: a, title: `first ${a}` }, ctx)
    const closing = auditor.transaction(ctx, async () => {
      await db.close()
    })
    const [outA] = await Promise.allSettled([first, closing])
    await assertOutcome(f.db, 'posts', a, outA!, 'the write caught by the close')
    // The writer is free: a later call fails at once instead of waiting forever.
    await assert.rejects(auditor.create(posts, { id: newId(), title: 'after close' }, ctx))
  })
})

forEachDialect('group commit review: closing the database while a write lingers', (f) => {
  it('settles the write consistently', {
    skip: f.name === 'sqlite' ? undefined : 'the linger timer is SQLite’s group commit',
  }, async () => {
    const db = await f.open()
    const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
    const warm = newId()
    await auditor.create(posts, { id: warm, title: `warm ${warm}` }, ctx)
    const a = newId()
    const write = auditor.create(posts, { id: a, title: `lingering ${a}` }, ctx)
    // This immediate was queued before the group's linger: the close runs first.
    const closed = new Promise<void>((resolve, reject) =>
      setImmediate(() => db.close().then(resolve, reject)),
    )
    const [outcome, closeOutcome] = await Promise.allSettled([write, closed])
    assert.equal(closeOutcome!.status, 'fulfilled')
    await assertOutcome(f.db, 'posts', a, outcome!, 'the lingering write')
  })
})
