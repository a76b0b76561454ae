/**
 * Invariant 5 (parity): the same calls give the same events on every dialect.
 * Invariant 2 (completeness): every record's history, replayed, is its current row.
 *
 * One deterministic script runs once per available dialect, each on its own new database.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { decodeRow } from '../packages/audited/src/audit/row-codec.js'
import {
  type AuditContext,
  type AuditedDatabase,
  type Auditor,
  type ChangeEvent,
  canonicalize,
  createAuditor,
  type DialectName,
  type Entity,
  isAuditedError,
  type JsonObject,
  type JsonValue,
  migrate,
  openDatabase,
  REDACTED,
} from '../packages/audited/src/index.js'
import { counters, createTestTables, ctx, DIALECTS, PERSONAL_DATA, posts, rowsOf } from './setup.js'

const editor: AuditContext = { ...ctx, actorId: 'user-2', requestId: 'req-2', reason: 'edit' }
const system: AuditContext = {
  tenantId: null,
  actorId: 'nightly-job',
  actorType: 'system',
  reason: 'maintenance',
  metadata: { job: 'nightly', run: 7n, at: new Date('2024-05-01T00:00:00.000Z'), nested: { ok: true } },
}

/** One step of the script's log: the canonical returned value, or the error code. */
type Outcome = { label: string; ok: JsonValue } | { label: string; error: string }

/**
 * The deterministic script: creates (incl. createMany), updates (incl. publish and
 * unpublish), deletes, restores (of a live and of a deleted record), a transaction with
 * several writes, and writes that fail and must leave nothing. Returns what each call gave.
 */
async function script(a: Auditor): Promise<Outcome[]> {
  const log: Outcome[] = []
  const step = async (label: string, call: () => Promise<unknown>): Promise<void> => {
    try {
      log.push({ label, ok: canonicalize(await call()) })
    } catch (e) {
      if (!isAuditedError(e)) throw e
      log.push({ label, error: e.code })
    }
  }
  await step('create post-01', () =>
    a.create(
      posts,
      {
        id: 'post-01',
        title: 'First',
        body: 'Hello',
        tags: ['news', { weight: 2n ** 60n }],
        flag: true,
        published_at: new Date('2024-01-01T10:00:00.000Z'),
        secret: 'alpha',
      },
      ctx,
    ),
  )
  await step('createMany post-02..04', () =>
    a.createMany(
      posts,
      [
        { id: 'post-02', title: 'Second', views: 2 },
        { id: 'post-03', title: 'Third 😀 漢字', tags: { z: 1, a: [null, {}], ключ: 'значение' } },
        { id: 'post-04', title: 'Fourth', body: 'שלום عليكم', flag: false },
      ],
      ctx,
    ),
  )
  await step('publish post-01', () => a.update(posts, 'post-01', { status: 'published' }, ctx))
  await step('edit post-01', () =>
    a.update(posts, 'post-01', { title: 'First (edited)', views: 10, secret: 'beta' }, editor, {
      expectedVersion: 2,
    }),
  )
  await step('stale edit post-01', () =>
    a.update(posts, 'post-01', { views: 11 }, ctx, { expectedVersion: 1 }),
  )
  await step('unpublish post-01', () => a.update(posts, 'post-01', { status: 'draft' }, ctx))
  await step('edit post-02', () =>
    a.update(
      posts,
      'post-02',
      {
        tags: { nested: { deep: [1, 2.5, '3', true, null] } },
        published_at: '2024-06-30T12:00:00.000+02:00' as unknown as Date,
        flag: null,
      },
      ctx,
    ),
  )
  await step('rewrite post-04 title unchanged', () => a.update(posts, 'post-04', { title: 'Fourth' }, ctx))
  await step('duplicate title', () => a.create(posts, { id: 'post-99', title: 'Second' }, ctx))
  await step('delete post-03', () => a.delete(posts, 'post-03', ctx, { expectedVersion: 1 }))
  const post3 = (await a.events.history(posts, 'post-03')).events
  await step('restore post-03 (deleted)', () => a.restore(posts, 'post-03', post3[0]!.eventId, ctx))
  const post2 = (await a.events.history(posts, 'post-02')).events
  await step('restore post-02 (live)', () => a.restore(posts, 'post-02', post2[0]!.eventId, editor))
  await step('transaction', () =>
    a.transaction({ ...ctx, requestId: 'req-tx', reason: 'batch' }, async (tx) => {
      const made = await tx.create(posts, { id: 'post-05', title: 'In a transaction', tags: [] })
      const published = await tx.update(posts, 'post-04', { status: 'published', flag: true })
      const gone = await tx.delete(posts, 'post-02')
      const edited = await tx.update(posts, 'post-05', { body: '漢字' })
      const many = await tx.createMany(counters, [{ name: 'c-a' }, { name: 'c-b', n: 5 }])
      return { made, published, gone, edited, many }
    }),
  )
  await step('failed transaction', () =>
    a.transaction(ctx, async (tx) => {
      await tx.create(posts, { id: 'post-06', title: 'Never committed' })
      await tx.update(posts, 'post-404', { title: 'missing' })
    }),
  )
  await step('create counter', () => a.create(counters, { name: 'c-c' }, system))
  await step('update counter 1', () => a.update(counters, 1, { n: 1 }, system))
  await step('delete counter 2', () => a.delete(counters, 2, system))
  await step('delete post-05', () => a.delete(posts, 'post-05', editor))
  return log
}

/** The script's expected failures: anything else failing means the script did not run as written. */
const EXPECTED_ERRORS = {
  'stale edit post-01': 'conflict',
  'duplicate title': 'conflict',
  'failed transaction': 'not_found',
}

const ENTITIES: Record<string, Entity<object>> = { posts, counters }

interface Run {
  readonly name: DialectName
  readonly db: AuditedDatabase
  readonly drop: () => Promise<void>
  auditor?: Auditor
  outcomes: Outcome[]
  events: ChangeEvent[]
  tables: Record<string, JsonValue[]>
}

/** Every event through the public cursor API, in small pages. */
async function allEvents(a: Auditor): Promise<ChangeEvent[]> {
  let page = await a.events.list({ limit: 7 })
  const out = [...page.events]
  while (page.hasMore) {
    page = await a.events.list({ after: page.nextCursor!, limit: 7 })
    out.push(...page.events)
  }
  return out
}

const VOLATILE = new Set(['eventId', 'hlc', 'wallTime', 'txId', 'nodeId'])

/** An event without the fields that legitimately differ between runs. */
function stable(e: ChangeEvent): Record<string, unknown> {
  return Object.fromEntries(Object.entries(e).filter(([k]) => !VOLATILE.has(k)))
}

/** Which events share a transaction, independent of the txId values: [0, 1, 1, 2, …]. */
function txShape(events: readonly ChangeEvent[]): number[] {
  const seen = new Map<string, number>()
  return events.map((e) => {
    if (!seen.has(e.txId)) seen.set(e.txId, seen.size)
    return seen.get(e.txId)!
  })
}

/** A decoded table row in the events' form, with the redacted columns left out. */
function visible(entity: Entity<object>, state: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(state).filter(([k]) => !entity.redact.has(k)))
}

async function tableStates(db: AuditedDatabase): Promise<Record<string, JsonValue[]>> {
  const out: Record<string, JsonValue[]> = {}
  for (const [table, entity] of Object.entries(ENTITIES)) {
    out[table] = (await rowsOf(db, table)).map((raw) => canonicalize(decodeRow(entity, raw)))
  }
  return out
}

const available = DIALECTS.filter((d) => d.skip === undefined)
const unavailable = DIALECTS.filter((d) => d.skip !== undefined).map((d) => `${d.name}: ${d.skip}`)
const paritySkip =
  available.length < 2
    ? `parity needs at least two dialects; only ${available.map((d) => d.name).join(', ') || 'none'} ` +
      `available (${unavailable.join('; ')})`
    : false

describe('parity and completeness', () => {
  const runs: Run[] = []

  before(async () => {
    for (const d of available) {
      const created = await d.create()
      const db = await openDatabase(created.url)
      const run: Run = { name: d.name, db, drop: created.drop, outcomes: [], events: [], tables: {} }
      runs.push(run) // registered first, so `after` drops it even if the script fails
      await migrate(db)
      await createTestTables(db)
      run.auditor = createAuditor({ personalData: PERSONAL_DATA, db, nodeId: `parity-${d.name}` })
      run.outcomes = await script(run.auditor)
      run.events = await allEvents(run.auditor)
      run.tables = await tableStates(db)
    }
  })

  after(async () => {
    for (const run of runs) {
      await run.db.close()
      await run.drop()
    }
  })

  for (const d of available) {
    it(`the script ran as written [${d.name}]`, () => {
      const run = runs.find((r) => r.name === d.name)!
      const errors = Object.fromEntries(
        run.outcomes.flatMap((o) => ('error' in o ? [[o.label, o.error]] : [])),
      )
      assert.deepEqual(errors, EXPECTED_ERRORS)
      const actions = new Set(run.events.map((e) => e.action))
      assert.deepEqual([...actions].sort(), ['create', 'delete', 'publish', 'restore', 'unpublish', 'update'])
      // 21: 'rewrite post-04 title unchanged' changes nothing and writes no event (issue 7 R6).
      assert.equal(run.events.length, 21)
      // The events read back in HLC order, one node, strictly increasing HLCs.
      for (const [i, e] of run.events.entries()) {
        assert.equal(e.nodeId, `parity-${d.name}`)
        if (i > 0) assert.ok(BigInt(e.hlc) > BigInt(run.events[i - 1]!.hlc), `event ${i} hlc order`)
      }
      // The transaction's six writes (four posts, two counters) share one txId.
      const txEvents = run.events.filter((e) => e.requestId === 'req-tx')
      assert.equal(txEvents.length, 6)
      assert.equal(new Set(txEvents.map((e) => e.txId)).size, 1)
    })
  }

  it('parity: the same script gives the same events on every dialect', { skip: paritySkip }, () => {
    const [reference, ...others] = runs
    assert.ok(reference && others.length > 0)
    for (const other of others) {
      const label: string = `${other.name} vs ${reference.name}`
      assert.equal(other.events.length, reference.events.length, `${label}: event count`)
      for (const [i, e] of other.events.entries()) {
        assert.deepEqual(stable(e), stable(reference.events[i]!), `${label}: event ${i}`)
      }
      assert.deepEqual(other.events.map(stable), reference.events.map(stable), `${label}: event lists`)
      assert.deepEqual(txShape(other.events), txShape(reference.events), `${label}: transaction grouping`)
      assert.deepEqual(other.outcomes, reference.outcomes, `${label}: what each call returned`)
      assert.deepEqual(other.tables, reference.tables, `${label}: final table contents`)
    }
  })

  for (const d of available) {
    it(`completeness: replaying each record's history gives its current row [${d.name}]`, async () => {
      const run = runs.find((r) => r.name === d.name)!
      const auditor = run.auditor!
      const records = new Map<string, { table: string; recordId: string }>()
      for (const e of run.events)
        records.set(`${e.table}:${e.recordId}`, { table: e.table, recordId: e.recordId })
      assert.deepEqual(
        [...records.keys()].sort(),
        [
          'counters:1',
          'counters:2',
          'counters:3',
          'posts:post-01',
          'posts:post-02',
          'posts:post-03',
          'posts:post-04',
          'posts:post-05',
        ],
        'exactly the records the script touched have events (none from failed writes)',
      )
      // No row exists without a history.
      for (const [table, entity] of Object.entries(ENTITIES)) {
        for (const raw of await rowsOf(run.db, table)) {
          assert.ok(
            records.has(`${table}:${String(raw[entity.primaryKey])}`),
            `${table} row ${raw.id} has events`,
          )
        }
      }
      const finals = new Map<string, JsonObject | null>()
      for (const [key, { table, recordId }] of records) {
        const entity = ENTITIES[table]!
        const history = (await auditor.events.history(entity, recordId)).events
        assert.deepEqual(
          history.map((e) => e.eventId),
          run.events.filter((e) => e.table === table && e.recordId === recordId).map((e) => e.eventId),
          `${key}: history() = the record's events in the global list`,
        )
        let state: JsonObject | null = null
        for (const e of history) {
          assert.deepEqual(e.oldValues, state, `${key}: event ${e.action} starts from the previous state`)
          assert.equal(
            e.operation === 'INSERT',
            e.oldValues === null,
            `${key}: only an INSERT starts from null`,
          )
          assert.equal(e.operation === 'DELETE', e.newValues === null, `${key}: only a DELETE ends in null`)
          const before: JsonObject = e.oldValues ?? {}
          const afterState: JsonObject = e.newValues ?? {}
          for (const field of new Set([...Object.keys(before), ...Object.keys(afterState)])) {
            // A masked value says nothing about change (a null secret is masked too).
            if (entity.redact.has(field)) continue
            if (JSON.stringify(before[field] ?? null) !== JSON.stringify(afterState[field] ?? null)) {
              assert.ok(
                e.changedFields.includes(field),
                `${key}: ${field} changed but is not in changedFields`,
              )
            }
          }
          for (const column of entity.redact) {
            if (e.newValues !== null) assert.equal(e.newValues[column], REDACTED, `${key}: ${column} masked`)
          }
          state = e.newValues
        }
        finals.set(key, state)
        const raw = (await rowsOf(run.db, table)).find((r) => String(r[entity.primaryKey]) === recordId)
        if (state === null) {
          assert.equal(raw, undefined, `${key}: replay ends deleted, so there is no row`)
        } else {
          assert.ok(raw, `${key}: replay ends with a state, so the row exists`)
          const current = canonicalize(decodeRow(entity, raw)) as JsonObject
          assert.deepEqual(visible(entity, state), visible(entity, current), `${key}: replay = current row`)
        }
      }
      // The deleted records' replays end in null; the others end in their state.
      for (const key of ['posts:post-02', 'posts:post-05', 'counters:2']) {
        assert.equal(finals.get(key), null, `${key} was deleted`)
      }
      for (const key of ['posts:post-01', 'posts:post-03', 'posts:post-04', 'counters:1', 'counters:3']) {
        assert.notEqual(finals.get(key), null, `${key} exists`)
      }
      assert.equal(finals.get('posts:post-03')?.title, 'Third 😀 漢字', 'post-03 was restored')
      assert.equal(finals.get('posts:post-01')?.status, 'draft')
      assert.equal(finals.get('posts:post-04')?.status, 'published')
    })
  }
})
