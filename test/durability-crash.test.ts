/**
 * What a crash of PostgreSQL loses, for real: a private cluster (test/pg-cluster.ts) takes
 * audited creates and updates from several concurrent writers, is killed with SIGKILL
 * mid-load (postmaster and every server process at once: the unflushed WAL buffers in
 * shared memory are gone) and restarted (crash recovery). Then:
 *
 * - atomicity: every surviving row has exactly its events (one per version, the newest
 *   matching the row), and every event has its row state — relaxed or not;
 * - `durability: 'relaxed'`: acknowledged writes may be lost, but only ones acknowledged
 *   within the bound before the crash (3 × wal_writer_delay = 600 ms by default);
 * - `durability: 'full'`: no acknowledged write is lost.
 *
 * Skipped, with the reason, where no PostgreSQL server binaries are installed; under
 * CI=true that is a failure.
 */
import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Kysely, sql } from 'kysely'
import {
  type AuditContext,
  createAuditor,
  type Durability,
  defineEntity,
  migrate,
  openDatabase,
} from '../packages/audited/src/index.js'
import { createPgCluster, findPgBinaries, type PgCluster } from './pg-cluster.js'
import { PERSONAL_DATA } from './setup.js'

const IN_CI = process.env.CI === 'true' || process.env.CI === '1'
const binaries = findPgBinaries()
const skip = 'missing' in binaries ? `${binaries.missing}: the crash test is SKIPPED` : undefined
if (skip !== undefined) process.stderr.write(`\n!!! ${skip}\n\n`)

/** PostgreSQL flushes an asynchronous commit within 3 × wal_writer_delay. */
const WAL_WRITER_DELAY_MS = 200
const BOUND_MS = 3 * WAL_WRITER_DELAY_MS
/** Timer and scheduling jitter on a loaded machine (the WAL writer's wake-up included). */
const SLACK_MS = 150
const WRITERS = 8
const LOAD_MS = 1500

interface Item {
  id: string
  tenant_id: string
  title: string
  version: number
}
const items = defineEntity<Item>({ table: 'items', tenantColumn: 'tenant_id', versionColumn: 'version' })
const ctx: AuditContext = { tenantId: 'crash', actorId: 'writer', actorType: 'system' }

interface Ack {
  readonly id: string
  readonly version: number
  readonly at: number
}

/** Writes under load until the crash; returns what was acknowledged and when the crash came. */
async function loadAndCrash(cluster: PgCluster, database: string, durability: Durability) {
  await cluster.admin(`CREATE DATABASE ${database}`)
  const db = await openDatabase(cluster.url(database), { pool: { max: WRITERS, acquireTimeoutMs: 5000 } })
  await migrate(db)
  await (db.kysely as Kysely<unknown>).schema
    .createTable('items')
    .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute()
  const auditor = createAuditor({ personalData: PERSONAL_DATA, db, durability })
  const acks: Ack[] = []
  let crashed = false
  const writer = async (w: number) => {
    for (let n = 0; !crashed; n++) {
      const id = `w${w}-${n}`
      try {
        let row = await auditor.create(items, { id, tenant_id: 'crash', title: `${id} v1` }, ctx)
        acks.push({ id, version: row.version, at: performance.now() })
        for (let u = 2; u <= 4 && !crashed; u++) {
          row = await auditor.update(items, id, { title: `${id} v${u}` }, ctx)
          acks.push({ id, version: row.version, at: performance.now() })
        }
      } catch (e) {
        if (!crashed) throw e
      }
    }
  }
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w))
  await sleep(LOAD_MS)
  const crashAt = performance.now()
  crashed = true
  await cluster.crash()
  await Promise.all(writers)
  await db.close().catch(() => {})
  return { acks, crashAt }
}

/** After restart: the rows and their events' versions and titles, as recovery left them. */
async function survivors(cluster: PgCluster, database: string) {
  const db = await openDatabase(cluster.url(database))
  try {
    const k = db.kysely as Kysely<unknown>
    const rows = await sql<Item>`SELECT id, title, version FROM items`.execute(k)
    const events = await sql<{ record_id: string; new_values: string }>`
      SELECT record_id, new_values::text AS new_values FROM change_events WHERE table_name = 'items'`.execute(
      k,
    )
    const byRecord = new Map<string, { version: number; title: string }[]>()
    for (const e of events.rows) {
      const values = JSON.parse(e.new_values) as Item
      byRecord.set(e.record_id, [
        ...(byRecord.get(e.record_id) ?? []),
        { version: values.version, title: values.title },
      ])
    }
    return { rows: new Map(rows.rows.map((r) => [r.id, r])), events: byRecord }
  } finally {
    await db.close()
  }
}

type Survivors = Awaited<ReturnType<typeof survivors>>

function assertAtomic({ rows, events }: Survivors): void {
  for (const [id, row] of rows) {
    const versions = (events.get(id) ?? []).sort((a, b) => a.version - b.version)
    assert.deepEqual(
      versions.map((e) => e.version),
      Array.from({ length: row.version }, (_, i) => i + 1),
      `row ${id} (version ${row.version}) has one event per version`,
    )
    assert.equal(versions.at(-1)?.title, row.title, `row ${id}: its newest event is its state`)
  }
  for (const id of events.keys()) assert.ok(rows.has(id), `event of ${id} without its row`)
}

function lostAcks(acks: readonly Ack[], { rows }: Survivors): Ack[] {
  return acks.filter((a) => (rows.get(a.id)?.version ?? 0) < a.version)
}

describe('a PostgreSQL crash under load', { skip: IN_CI ? false : skip }, () => {
  let cluster: PgCluster
  before(async () => {
    assert.ok(!('missing' in binaries), `CI=true and ${skip}`)
    cluster = await createPgCluster(binaries.dir, {
      wal_writer_delay: `${WAL_WRITER_DELAY_MS}ms`,
      max_connections: '40',
      shared_buffers: '32MB',
    })
    await cluster.start()
  })
  after(async () => {
    await cluster?.destroy()
  })

  it(`relaxed: a row and its events survive together; lost writes are only those acknowledged ≤ ${BOUND_MS} ms before the crash`, async () => {
    const { acks, crashAt } = await loadAndCrash(cluster, 'relaxed_crash', 'relaxed')
    await cluster.start()
    const found = await survivors(cluster, 'relaxed_crash')
    assert.ok(acks.length > 50, `the load ran (${acks.length} acknowledged writes)`)
    assertAtomic(found)
    const lost = lostAcks(acks, found)
    const ages = lost.map((a) => crashAt - a.at)
    const inWindow = acks.filter((a) => crashAt - a.at <= BOUND_MS).length
    process.stderr.write(
      `relaxed: ${acks.length} acknowledged, ${inWindow} of them in the last ${BOUND_MS} ms; ` +
        `${lost.length} lost, oldest ${Math.max(0, ...ages).toFixed(1)} ms before the crash\n`,
    )
    for (const age of ages)
      assert.ok(
        age <= BOUND_MS + SLACK_MS,
        `a write acknowledged ${age.toFixed(1)} ms before the crash was lost`,
      )
  })

  it('full: no acknowledged write is lost, and rows and events survive together', async () => {
    const { acks } = await loadAndCrash(cluster, 'full_crash', 'full')
    await cluster.start()
    const found = await survivors(cluster, 'full_crash')
    assert.ok(acks.length > 50, `the load ran (${acks.length} acknowledged writes)`)
    assertAtomic(found)
    assert.deepEqual(lostAcks(acks, found), [], 'acknowledged writes lost')
    process.stderr.write(`full: ${acks.length} acknowledged, none lost\n`)
  })
})
