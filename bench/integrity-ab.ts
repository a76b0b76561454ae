/**
 * Two same-run A/B comparisons of engine writes, in alternating rounds (odd rounds run B
 * first) at 1 and 16 callers:
 *
 * - sealing on ÷ off: engine creates into two fresh databases, a sealer running on one of
 *   them. An "on" round's time runs until the sealer has sealed and checkpointed every event
 *   of the round (`flush`), so the sealer's whole cost is in it.
 * - personal ÷ plain: creates, then an update of each, of the same row shape into two tables
 *   of one database, one of them declaring two personal columns (encrypted in the events
 *   under a per-subject key) and a subject column.
 */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { monotonicFactory } from 'ulid'
import {
  type AuditedDatabase,
  type Auditor,
  defineEntity,
  type Sealer,
  startSealer,
} from '../packages/audited/src/index.js'
import { CONCURRENCIES, ROUNDS } from './config.js'
import type { DialectTarget, PendingDrops } from './databases.js'
import { openIntegrityDb } from './integrity-db.js'
import { type CaseStats, measure, type RssSampler, type Sample, summarize } from './measure.js'
import { CTX, engineWriter, type Writer } from './workload.js'

export interface AbCell {
  readonly op: 'create' | 'update'
  readonly concurrency: number
  /** The feature on (sealing / personal columns), its time including the side's settling. */
  readonly on: CaseStats
  /** The same operations' time without the settling (the writes alone). */
  readonly onWrites: CaseStats
  readonly off: CaseStats
}

const newId = monotonicFactory()

interface Side {
  readonly writer: Writer
  /** Runs after the side's operations, inside its timed window. */
  readonly settle?: () => Promise<void>
}

/** Times `ops` of each side at each concurrency in alternating rounds (after a warm-up). */
async function alternate(
  sides: { on: Side; off: Side },
  ops: readonly ('create' | 'update')[],
  perRound: number,
  warmup: number,
  rss: RssSampler,
): Promise<AbCell[]> {
  const cells: AbCell[] = []
  const run = async (side: Side, count: number, concurrency: number) => {
    const ids = Array.from({ length: count }, () => newId())
    const out: { settled: Sample; writes: Sample }[] = []
    for (const op of ops) {
      const writes = await measure(count, concurrency, 1, rss, (i) =>
        op === 'create' ? side.writer.create(ids[i]!, i) : side.writer.update(ids[i]!, i),
      )
      const settleStart = performance.now()
      await side.settle?.()
      out.push({
        writes,
        settled: { ...writes, elapsedMs: writes.elapsedMs + (performance.now() - settleStart) },
      })
    }
    return out
  }
  for (const concurrency of CONCURRENCIES) {
    const samples = {
      on: ops.map((): Sample[] => []),
      onWrites: ops.map((): Sample[] => []),
      off: ops.map((): Sample[] => []),
    }
    await run(sides.on, warmup, concurrency)
    await run(sides.off, warmup, concurrency)
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)
      for (const s of order) {
        const out = await run(sides[s], perRound, concurrency)
        for (const [i, x] of out.entries()) {
          samples[s][i]!.push(x.settled)
          if (s === 'on') samples.onWrites[i]!.push(x.writes)
        }
      }
    }
    for (const [i, op] of ops.entries())
      cells.push({
        op,
        concurrency,
        on: summarize(samples.on[i]!),
        onWrites: summarize(samples.onWrites[i]!),
        off: summarize(samples.off[i]!),
      })
  }
  return cells
}

/** Sealing on ÷ off: engine creates, each side on its own fresh database. */
export async function benchSealingCost(
  target: DialectTarget,
  perRound: number,
  warmup: number,
  drops: PendingDrops,
  rss: RssSampler,
): Promise<AbCell[]> {
  const on = await openIntegrityDb(target, drops)
  let sealer: Sealer | undefined
  try {
    const off = await openIntegrityDb(target, drops)
    try {
      sealer = startSealer({ db: on.db, auditor: on.auditor, signer: on.signer, worker: on.sealerWorker })
      const s = sealer
      return await alternate(
        {
          on: { writer: engineWriter(on.auditor), settle: () => s.flush(120_000) },
          off: { writer: engineWriter(off.auditor) },
        },
        ['create'],
        perRound,
        warmup,
        rss,
      )
    } finally {
      await sealer?.stop()
      await off.close()
    }
  } finally {
    await on.close()
  }
}

interface Person {
  id: string
  tenant_id: string
  email: string
  name: string
  note: string
}

async function createPeopleTable(db: AuditedDatabase, table: string): Promise<void> {
  await db.kysely.schema
    .createTable(table)
    .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('email', 'varchar(200)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('note', 'varchar(200)', (c) => c.notNull())
    .execute()
}

const plainPeople = defineEntity<Person>({ table: 'people_plain', tenantColumn: 'tenant_id' })
const personalPeople = defineEntity<Person>({
  table: 'people_personal',
  tenantColumn: 'tenant_id',
  personal: ['email', 'name'],
  subject: 'id',
})

function peopleWriter(auditor: Auditor, entity: typeof plainPeople): Writer {
  return {
    async create(id, n) {
      const person = { id, email: `person-${n}@example.test`, name: `Person ${n}`, note: 'created' }
      await auditor.create(entity, person, CTX)
    },
    async update(id, n) {
      await auditor.update(entity, id, { email: `moved-${n}@example.test`, note: 'updated' }, CTX)
    },
    async delete(id) {
      await auditor.delete(entity, id, CTX)
    },
  }
}

/** Personal ÷ plain: creates and updates of the two tables of one database. */
export async function benchPersonalCost(
  target: DialectTarget,
  perRound: number,
  warmup: number,
  drops: PendingDrops,
  rss: RssSampler,
): Promise<AbCell[]> {
  const h = await openIntegrityDb(
    target,
    drops,
    { personalData: { masterKey: randomBytes(32).toString('base64') } },
    async (db) => {
      await createPeopleTable(db, 'people_plain')
      await createPeopleTable(db, 'people_personal')
    },
  )
  try {
    return await alternate(
      {
        on: { writer: peopleWriter(h.auditor, personalPeople) },
        off: { writer: peopleWriter(h.auditor, plainPeople) },
      },
      ['create', 'update'],
      perRound,
      warmup,
      rss,
    )
  } finally {
    await h.close()
  }
}
