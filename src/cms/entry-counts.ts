import { type Compilable, CompiledQuery } from 'kysely'
import type { BeforeChange } from '../audit/engine-core.js'
import type { AuditedDatabase } from '../db/open-database.js'

/** Entries per tenant (created by CMS migration 1003). */
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

/** Counts the tenant's rows into a new counter (a tenant that predates migration 1003
 * without a counter, or whose tenant row was written without this hook). */
async function createCounter(db: AuditedDatabase, change: BeforeChange, tenantId: string): Promise<number> {
  await change.read(query(statements(db).create, [tenantId, tenantId]))
  return (await readCount(db, change, tenantId)) ?? 0
}

/**
 * Applies one audited write to its tenant's entry counter, inside the write's transaction
 * (so the counter commits or rolls back with the row): an entry INSERT (create, restore of
 * a deleted entry) adds one, a DELETE takes one away, a new tenant gets a counter at 0.
 *
 * `now` (the tenant has a quota): the counter is updated now and, after an entry INSERT,
 * the tenant's count after this write is returned: the UPDATE holds the counter row's lock
 * until COMMIT, so concurrent creates of one tenant see each other's counts and a quota
 * checked against it is exact on every dialect. Otherwise the update is deferred to the
 * COMMIT batch (no round trip, the lock held only while committing) and undefined returned.
 *
 * Only writes that pass through this hook are counted: entries written around the auditor
 * (raw SQL) are not.
 */
export async function countEntryWrite(
  db: AuditedDatabase,
  change: BeforeChange,
  now: boolean,
): Promise<number | undefined> {
  if (change.table === 'tenants' && change.operation === 'INSERT') {
    if ((await readCount(db, change, change.recordId)) === undefined)
      await createCounter(db, change, change.recordId)
    return undefined
  }
  if (change.table !== 'entries' || change.operation === 'UPDATE') return undefined
  const tenantId = String((change.after ?? change.before)?.tenant_id)
  const delta = change.operation === 'INSERT' ? 1 : -1
  const st = statements(db)
  if (!now) {
    // A tenant without a counter row keeps none until a quota check creates it by counting.
    change.defer(query(st.add, [delta, tenantId]))
    return undefined
  }
  const bumped = await change.read<{ entry_count: unknown }>(query(st.bump, [delta, tenantId]))
  const count = db.capabilities.supportsReturning
    ? bumped[0] === undefined
      ? undefined
      : Number(bumped[0].entry_count)
    : await readCount(db, change, tenantId)
  const after = count ?? (await createCounter(db, change, tenantId))
  return change.operation === 'INSERT' ? after : undefined
}
