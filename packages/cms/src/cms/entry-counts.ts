import type { AuditedDatabase, BeforeChange } from 'audited'
import { decodeRow } from 'audited'
import { type Compilable, CompiledQuery, type Kysely } from 'kysely'
import { tenants } from './entities.js'

/** Entries per tenant with an entry quota (created by CMS migration 1003). */
export const ENTRY_COUNTS = 'tenant_entry_counts'

interface CountStatements {
  /** `delta`, `tenant`; answers the new count where the database has RETURNING. */
  readonly bump: string
  /** The same without RETURNING, for `defer`. */
  readonly add: string
  /** `tenant` */
  readonly read: string
  /** `tenant`, `tenant`: a missing counter, from the rows (this write's included). */
  readonly create: string
  /** `tenant` */
  readonly drop: string
}

/** Compiled once per database: these run inside every entry write. */
const compiled = new WeakMap<AuditedDatabase, CountStatements>()

function statements(db: AuditedDatabase): CountStatements {
  let st = compiled.get(db)
  if (st === undefined) {
    const k = db.kysely
    const update = k
      .updateTable(ENTRY_COUNTS)
      .set((eb) => ({ entry_count: eb('entry_count', '+', 0) }))
      .where('tenant_id', '=', '')
    st = {
      bump: (db.capabilities.supportsReturning ? update.returning('entry_count') : update).compile().sql,
      add: update.compile().sql,
      read: k.selectFrom(ENTRY_COUNTS).select('entry_count').where('tenant_id', '=', '').compile().sql,
      create: k
        .insertInto(ENTRY_COUNTS)
        .columns(['tenant_id', 'entry_count'])
        .expression(
          k
            .selectFrom('entries')
            .select((eb) => [eb.val('').as('tenant_id'), eb.fn.countAll().as('entry_count')])
            .where('tenant_id', '=', ''),
        )
        .compile().sql,
      drop: k.deleteFrom(ENTRY_COUNTS).where('tenant_id', '=', '').compile().sql,
    }
    compiled.set(db, st)
  }
  return st
}

const query = (sql: string, parameters: readonly unknown[]): Compilable => ({
  compile: () => CompiledQuery.raw(sql, [...parameters]),
})

async function readCount(db: AuditedDatabase, change: BeforeChange, tenantId: string) {
  const [row] = await change.read<{ entry_count: unknown }>(query(statements(db).read, [tenantId]))
  return row === undefined ? undefined : Number(row.entry_count)
}

/** Counts the tenant's rows into a new counter (this transaction's own writes included). */
async function createCounter(db: AuditedDatabase, change: BeforeChange, tenantId: string): Promise<number> {
  await change.read(query(statements(db).create, [tenantId, tenantId]))
  return (await readCount(db, change, tenantId)) ?? 0
}

const quotaOf = (row: Record<string, unknown> | null): unknown =>
  (row?.limits as { maxEntries?: unknown } | null | undefined)?.maxEntries

/** A tenant write that sets a quota counts the tenant's entries into a new counter; one
 * that removes it drops the counter (no tenant without a quota pays for one). */
async function followQuota(db: AuditedDatabase, change: BeforeChange): Promise<void> {
  const had = quotaOf(change.before) !== undefined
  const has = quotaOf(change.after) !== undefined
  if (had === has) return
  const st = statements(db)
  await change.read(query(st.drop, [change.recordId]))
  if (has) await createCounter(db, change, change.recordId)
}

/**
 * Keeps the entry counters of tenants that have an entry quota, inside each write's
 * transaction (so a counter commits or rolls back with its rows). A tenant gets a counter
 * when a quota is set on it (its entries counted in that transaction; also by CMS migration
 * 1003 for quotas set before it) and loses it when the quota is removed.
 *
 * An entry INSERT (create, restore of a deleted entry) adds one, a DELETE takes one away.
 * `quota` (the tenant has one, as the caller's cached limits say): the counter is updated
 * now and, after an INSERT, the tenant's count after this write is returned. That UPDATE
 * holds the counter row's lock until COMMIT, so concurrent creates of one tenant see each
 * other's counts: a quota checked against it is exact on every dialect — and such a
 * tenant's entry writes queue behind each other's COMMIT on PostgreSQL and MySQL. Without
 * `quota` the update is deferred to the COMMIT batch, where it changes no row unless a
 * quota was set meanwhile (limits cached in another process): no round trip, no lock.
 *
 * Only writes that pass through this hook are counted: entries written around the auditor
 * (raw SQL) are not.
 */
export async function countEntryWrite(
  db: AuditedDatabase,
  change: BeforeChange,
  quota: boolean,
): Promise<number | undefined> {
  if (change.table === 'tenants' && change.operation !== 'DELETE') {
    await followQuota(db, change)
    return undefined
  }
  if (change.table !== 'entries' || change.operation === 'UPDATE') return undefined
  const tenantId = String((change.after ?? change.before)?.tenant_id)
  const delta = change.operation === 'INSERT' ? 1 : -1
  const st = statements(db)
  if (!quota) {
    change.defer(query(st.add, [delta, tenantId]))
    return undefined
  }
  const bumped = await change.read<{ entry_count: unknown }>(query(st.bump, [delta, tenantId]))
  const count = db.capabilities.supportsReturning
    ? bumped[0] === undefined
      ? undefined
      : Number(bumped[0].entry_count)
    : await readCount(db, change, tenantId)
  // No counter yet (its tenant row was written around this hook): count the rows now.
  const after = count ?? (await createCounter(db, change, tenantId))
  return change.operation === 'INSERT' ? after : undefined
}

/** For CMS migration 1003: counters for the tenants that already have a quota. */
// biome-ignore lint/suspicious/noExplicitAny: migrations address tables the typed schema does not know yet.
export async function initialiseEntryCounts(k: Kysely<any>): Promise<void> {
  const rows = (await k.selectFrom('tenants').select(['id', 'limits']).execute()) as Record<string, unknown>[]
  const counted = new Set(
    ((await k.selectFrom(ENTRY_COUNTS).select('tenant_id').execute()) as { tenant_id: unknown }[]).map((r) =>
      String(r.tenant_id),
    ),
  )
  for (const row of rows) {
    const id = String(row.id)
    if (counted.has(id) || quotaOf(decodeRow(tenants, row)) === undefined) continue
    await k
      .insertInto(ENTRY_COUNTS)
      .columns(['tenant_id', 'entry_count'])
      .expression(
        k
          .selectFrom('entries')
          .select((eb) => [eb.val(id).as('tenant_id'), eb.fn.countAll().as('entry_count')])
          .where('tenant_id', '=', id),
      )
      .execute()
  }
}
