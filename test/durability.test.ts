/**
 * `createAuditor({ durability })`: 'relaxed' makes the database acknowledge COMMIT before
 * flushing it (PostgreSQL per transaction, SQLite on the writer), costs no extra round trip,
 * and is refused, naming the server-wide alternative, where the database cannot do it per
 * transaction (MySQL/MariaDB). What a crash then loses: test/durability-crash.test.ts.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { CompiledQuery, sql } from 'kysely'
import {
  type AuditedDatabase,
  createAuditor,
  type DialectName,
  isAuditedError,
} from '../packages/audited/src/index.js'
import { loadConfig } from '../packages/cms/src/server/config.js'
import { ctx, eventCount, forEachDialect, newId, PERSONAL_DATA, posts, rowsOf } from './setup.js'

/** How each database shows a transaction's (or the writer connection's) flush setting. */
const SETTING: Record<DialectName, { query: string; full: unknown; relaxed: unknown }> = {
  sqlite: { query: 'PRAGMA synchronous', full: 1, relaxed: 0 },
  postgres: { query: 'SHOW synchronous_commit', full: 'on', relaxed: 'off' },
  mysql: { query: 'SELECT @@innodb_flush_log_at_trx_commit AS v', full: 1, relaxed: undefined },
}

/** The setting as a write transaction sees it, read by a before hook on its own connection. */
async function settingInsideWrite(db: AuditedDatabase, durability: 'full' | 'relaxed'): Promise<unknown> {
  let seen: unknown
  const auditor = createAuditor({
    personalData: PERSONAL_DATA,
    db,

    durability,
    hooks: {
      async before(change) {
        const query = SETTING[db.dialect].query
        const [row] = await change.read({ compile: () => CompiledQuery.raw(query) })
        seen = Object.values(row ?? {})[0]
      },
    },
  })
  await auditor.create(posts, { id: newId(), tenant_id: 'acme', title: `t ${newId()}` }, ctx)
  return typeof seen === 'bigint' || typeof seen === 'string'
    ? Number.isNaN(Number(seen))
      ? seen
      : Number(seen)
    : seen
}

/** Counts the requests (round trips on a server) and statements the engine sends. */
function counted(db: AuditedDatabase) {
  const count = { requests: 0, statements: 0 }
  const inner = db.capabilities
  const capabilities: AuditedDatabase['capabilities'] = {
    ...inner,
    async acquire(ms, wait) {
      const lease = await inner.acquire(ms, wait)
      return {
        release: (destroy) => lease.release(destroy),
        session: {
          run(list) {
            count.requests += 1
            count.statements += list.length
            return lease.session.run(list)
          },
        },
      }
    },
  }
  return { db: { ...db, capabilities }, count }
}

forEachDialect('durability', (f) => {
  const supported = f.name !== 'mysql'

  it('rejects a durability other than full or relaxed', () => {
    for (const durability of ['fast', '', 'FULL', 1, null]) {
      assert.throws(
        () => createAuditor({ personalData: PERSONAL_DATA, db: f.db, durability: durability as 'full' }),
        (e: unknown) => isAuditedError(e) && e.code === 'validation' && /durability/.test(e.message),
      )
    }
  })

  if (!supported) {
    it('relaxed is refused at createAuditor, naming the server-wide alternative', () => {
      assert.throws(
        () => createAuditor({ personalData: PERSONAL_DATA, db: f.db, durability: 'relaxed' }),
        (e: unknown) =>
          isAuditedError(e) &&
          e.code === 'validation' &&
          e.message.includes('not supported on MySQL/MariaDB') &&
          e.message.includes('innodb_flush_log_at_trx_commit = 2'),
      )
    })
    it('full (the default) writes as before, with the server flushing every commit', async () => {
      assert.equal(await settingInsideWrite(f.db, 'full'), SETTING.mysql.full)
    })
    return
  }

  it('full writes with the flush setting on; relaxed transactions run with it off', async () => {
    // On SQLite the pragma belongs to the writer connection: relaxing it is for good, so
    // the full write is measured first (a fresh handle: no other test relaxed it).
    const db = await f.open()
    assert.equal(await settingInsideWrite(db, 'full'), SETTING[f.name].full)
    assert.equal(await settingInsideWrite(db, 'relaxed'), SETTING[f.name].relaxed)
  })

  it('on PostgreSQL the setting is per transaction: the next full one is flushed again', {
    skip: f.name !== 'postgres' && 'SQLite relaxes the writer connection itself',
  }, async () => {
    assert.equal(await settingInsideWrite(f.db, 'relaxed'), 'off')
    assert.equal(await settingInsideWrite(f.db, 'full'), 'on')
  })

  it('on SQLite relaxing sets synchronous = OFF on the writer at once (PRAGMA reads 0)', {
    skip: f.name !== 'sqlite' && 'only SQLite relaxes a connection',
  }, async () => {
    const db = await f.open()
    const read = async () =>
      Number(Object.values((await sql`PRAGMA synchronous`.execute(db.kysely)).rows[0] as object)[0])
    assert.equal(await read(), 1)
    createAuditor({ personalData: PERSONAL_DATA, db, durability: 'relaxed' })
    assert.equal(await read(), 0)
    const journal = await sql`PRAGMA journal_mode`.execute(db.kysely)
    assert.equal(Object.values(journal.rows[0] as object)[0], 'wal')
  })

  it('relaxed writes commit each row with its event, in the same number of round trips', async () => {
    const db = await f.open()
    const full = counted(db)
    const relaxed = counted(db)
    const writers = [
      createAuditor({ personalData: PERSONAL_DATA, db: full.db }),
      createAuditor({ personalData: PERSONAL_DATA, db: relaxed.db, durability: 'relaxed' }),
    ]
    const eventsBefore = await eventCount(db)
    const ids: string[] = []
    for (const [n, auditor] of writers.entries()) {
      const id = newId()
      ids.push(id)
      await auditor.create(posts, { id, tenant_id: 'acme', title: `rt ${id}` }, ctx)
      await auditor.update(posts, id, { title: `rt ${id} v2` }, ctx)
      assert.equal(
        (await auditor.events.history(posts, id, { tenantId: 'acme' })).events.length,
        2,
        `writer ${n}`,
      )
    }
    assert.equal(await eventCount(db), eventsBefore + 4)
    const rows = (await rowsOf(db, 'posts')).filter((r) => ids.includes(String(r.id)))
    assert.deepEqual(
      rows.map((r) => r.title),
      ids.map((id) => `rt ${id} v2`),
    )
    assert.equal(relaxed.count.requests, full.count.requests, 'round trips')
    const extra = f.name === 'postgres' ? 2 : 0 // SET LOCAL, once per transaction
    assert.equal(relaxed.count.statements, full.count.statements + extra, 'statements')
  })
})

it('AUDIT_DURABILITY selects the CMS auditor durability (default full)', () => {
  assert.equal(loadConfig({}).durability, 'full')
  assert.equal(loadConfig({ AUDIT_DURABILITY: 'relaxed' }).durability, 'relaxed')
  assert.equal(loadConfig({ AUDIT_DURABILITY: 'full' }).durability, 'full')
  assert.throws(
    () => loadConfig({ AUDIT_DURABILITY: 'off' }),
    (e: unknown) => isAuditedError(e) && e.code === 'validation' && e.details?.name === 'AUDIT_DURABILITY',
  )
})
