/** Runs the "NATS publishes/s" cell (bench/nats.ts) on every selected dialect, each on its
 * own fresh database, and renders its section of bench/results.md. */
import { loadavg } from 'node:os'
import { type DialectName, migrate, openDatabase } from '../packages/audited/src/index.js'
import { type BenchConfig, POOL_SIZE } from './config.js'
import { type PendingDrops, TARGETS } from './databases.js'
import { NATS_EVENTS, type NatsResult, natsCell, natsSection, natsUnreachable } from './nats.js'
import { createItemsTable } from './workload.js'

export { spliceNats } from './nats.js'

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]

async function benchNats(
  name: DialectName,
  events: number,
  drops: PendingDrops,
  log: (line: string) => void,
  skipped: string[],
): Promise<NatsResult | 'failed' | undefined> {
  const target = TARGETS[name]
  const unreachable = await target.unreachable()
  if (unreachable !== undefined) {
    skipped.push(`${name}: not reachable (${unreachable})`)
    return undefined
  }
  const created = await target.create()
  drops.track(created)
  try {
    const db = await openDatabase(created.url, { pool: { max: POOL_SIZE, acquireTimeoutMs: 30_000 } })
    try {
      await migrate(db)
      await createItemsTable(db)
      return await natsCell(name, db, events, log)
    } finally {
      await db.close()
    }
  } catch (e) {
    skipped.push(`${name}: FAILED (${firstLine(e)})`)
    return 'failed'
  } finally {
    await drops.drop(created)
  }
}

/** The section, and whether a cell failed (NATS or a database unreachable is a loud skip). */
export async function runNats(
  config: BenchConfig,
  drops: PendingDrops,
  log: (line: string) => void,
  loud: (message: string) => void,
): Promise<{ section: string; failed: boolean }> {
  const skipped: string[] = []
  const results: NatsResult[] = []
  let failed = false
  const loadAtStart = loadavg()[0] ?? 0
  const unreachable = await natsUnreachable()
  if (unreachable !== undefined) {
    loud(`NATS is not reachable (${unreachable}); the NATS publishes/s cells are SKIPPED.`)
    skipped.push(`NATS not reachable: ${unreachable}`)
  } else {
    const events = Math.max(1000, Math.round(NATS_EVENTS * config.scale))
    for (const name of config.dialects) {
      const r = await benchNats(name, events, drops, log, skipped)
      if (r === 'failed') {
        failed = true
        loud(`${name} NATS cell FAILED: ${skipped.at(-1)}`)
      } else if (r !== undefined) results.push(r)
    }
  }
  return { section: natsSection(results, skipped, loadAtStart), failed }
}
