/**
 * Sealing lag: 16 callers create rows through the engine for a fixed time while a sealer
 * (default settings: a checkpoint every 1 s or 1,000 events) runs in the same process. For
 * each event, lag = the moment its checkpoint's transaction had committed (the sealer's
 * `onCheckpoint`, called right after that commit) − the moment the event's COMMIT returned
 * to its caller; its checkpoint is the first whose tree size covers the event's leaf.
 */
import { performance } from 'node:perf_hooks'
import { monotonicFactory } from 'ulid'
import { startSealer } from '../packages/audited/src/index.js'
import type { DialectTarget, PendingDrops } from './databases.js'
import { openIntegrityDb } from './integrity-db.js'
import { percentile } from './measure.js'
import { engineWriter } from './workload.js'

export const LAG_WRITERS = 16

export interface LagFigures {
  readonly seconds: number
  readonly events: number
  readonly checkpoints: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

const newId = monotonicFactory()

/** Index of the first checkpoint whose size is above `leafIndex` (sizes ascending). */
function coveringCheckpoint(sizes: readonly number[], leafIndex: number): number {
  let lo = 0
  let hi = sizes.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sizes[mid]! > leafIndex) hi = mid
    else lo = mid + 1
  }
  return lo
}

export async function benchLag(
  target: DialectTarget,
  durationMs: number,
  drops: PendingDrops,
  log: (line: string) => void,
): Promise<LagFigures> {
  const h = await openIntegrityDb(target, drops)
  const checkpoints: { size: number; at: number }[] = []
  const sealer = startSealer({
    worker: h.sealerWorker,
    db: h.db,
    auditor: h.auditor,
    signer: h.signer,
    onCheckpoint: (c) => {
      checkpoints.push({ size: c.treeSize, at: performance.now() })
    },
  })
  try {
    await sealer.subscription.ready
    const writer = engineWriter(h.auditor)
    const committed = new Map<string, number>()
    const started = performance.now()
    let n = 0
    const caller = async () => {
      while (performance.now() - started < durationMs) {
        const id = newId()
        await writer.create(id, n++)
        committed.set(id, performance.now())
      }
    }
    await Promise.all(Array.from({ length: LAG_WRITERS }, caller))
    const seconds = (performance.now() - started) / 1000
    // Every event must get its checkpoint the ordinary way (by time or count), not forced.
    const waitUntil = performance.now() + 60_000
    while ((checkpoints.at(-1)?.size ?? 0) < committed.size) {
      if (performance.now() > waitUntil) throw new Error('no checkpoint covered every event within 60 s')
      await new Promise((r) => setTimeout(r, 20))
    }
    // biome-ignore lint/suspicious/noExplicitAny: the engine's tables by name.
    const k = h.db.kysely as any
    const rows: { record_id: string; leaf_index: unknown }[] = await k
      .selectFrom('change_events as e')
      .innerJoin('audited_log_leaves as l', 'l.event_id', 'e.event_id')
      .select(['e.record_id', 'l.leaf_index'])
      .execute()
    if (rows.length !== committed.size)
      throw new Error(`${rows.length} leaves for ${committed.size} committed events`)
    const sizes = checkpoints.map((c) => c.size)
    const lags = rows
      .map((r) => {
        const cp = checkpoints[coveringCheckpoint(sizes, Number(r.leaf_index))]!
        return cp.at - committed.get(r.record_id)!
      })
      .sort((a, b) => a - b)
    log(`  lag: ${committed.size} events in ${seconds.toFixed(1)} s, ${checkpoints.length} checkpoints`)
    return {
      seconds,
      events: committed.size,
      checkpoints: checkpoints.length,
      p50Ms: percentile(lags, 0.5),
      p99Ms: percentile(lags, 0.99),
      maxMs: lags.at(-1) ?? Number.NaN,
    }
  } finally {
    await sealer.stop()
    await h.close()
  }
}
