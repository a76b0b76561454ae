/**
 * Verification speed: a log of N real engine events (createMany in big batches, outside
 * timing), sealed from scratch by one sealer (timed: sealing throughput), then one
 * `verifyLogs` over the whole log (timed, with the peak RSS while it runs).
 */
import { performance } from 'node:perf_hooks'
import { sql } from 'kysely'
import { monotonicFactory } from 'ulid'
import { startSealer, verifyLogs } from '../packages/audited/src/index.js'
import type { DialectTarget, PendingDrops } from './databases.js'
import { openIntegrityDb } from './integrity-db.js'
import type { RssSampler } from './measure.js'
import { engineCreateMany } from './workload.js'

/** Rows per seeding createMany call, and calls in flight at once. */
const SEED_BATCH = 1000
const SEED_CALLERS = 4

export interface VerifyFigures {
  readonly events: number
  readonly seedMs: number
  readonly sealMs: number
  readonly verifyMs: number
  /** This process's CPU time (user + system) while sealing / verifying: under shared load
   * the wall time stretches, this much less (the database server's own CPU is not in it). */
  readonly sealCpuMs: number
  readonly verifyCpuMs: number
  readonly rssBeforeBytes: number
  /** Peak RSS over the whole verification. */
  readonly peakRssBytes: number
  /** RSS once a tenth of the log was verified, and the peak over the other nine tenths:
   * memory that grows with the log shows as the second well above the first. */
  readonly rssAtTenthBytes: number
  readonly peakAfterTenthBytes: number
  /** The JS heap's peak over the first tenth and over the rest (sampled after each page):
   * SQLite's reader maps up to 256 MB
   * of the database file (mmap_size), which counts in RSS as it is read. */
  readonly heapPeakFirstTenthBytes: number
  readonly heapPeakAfterTenthBytes: number
  readonly checkpoints: number
}

const newId = monotonicFactory()
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000

/** One seeding call, run again (up to 3 times) when the engine calls its failure retryable:
 * on a loaded machine a 1,000-row transaction can outlive its timeout. */
async function seedBatch(call: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (e) {
      if (attempt >= 3 || (e as { retryable?: unknown }).retryable !== true) throw e
    }
  }
}

export async function benchVerify(
  target: DialectTarget,
  events: number,
  drops: PendingDrops,
  rss: RssSampler,
  log: (line: string) => void,
): Promise<VerifyFigures> {
  const h = await openIntegrityDb(target, drops)
  try {
    const seedStart = performance.now()
    let next = 0
    let analyzedAt = 0
    const caller = async () => {
      while (next < events) {
        const n = Math.min(SEED_BATCH, events - next)
        next += n
        if (target.name === 'postgres' && next - analyzedAt >= Math.max(10_000, analyzedAt)) {
          // Autovacuum is off on this server: without statistics the engine's reads are
          // planned for an empty table (createMany's MAX(hlc) then scans every event).
          analyzedAt = next
          await sql`ANALYZE change_events`.execute(h.db.kysely)
        }
        await seedBatch(() =>
          engineCreateMany(
            h.auditor,
            Array.from({ length: n }, () => newId()),
          ),
        )
      }
    }
    await Promise.all(Array.from({ length: SEED_CALLERS }, caller))
    const seedMs = performance.now() - seedStart
    // The statistics a table this size has in production (autovacuum's ANALYZE).
    if (target.name === 'postgres') await sql`ANALYZE`.execute(h.db.kysely)
    log(`  seeded ${events.toLocaleString('en-US')} events in ${(seedMs / 1000).toFixed(1)} s`)

    const sealStart = performance.now()
    const sealCpu = process.cpuUsage()
    const sealer = startSealer({ db: h.db, auditor: h.auditor, signer: h.signer, worker: h.sealerWorker })
    try {
      await sealer.flush(30 * 60_000)
    } finally {
      await sealer.stop()
    }
    const sealMs = performance.now() - sealStart
    const sealCpuMs = cpuMs(process.cpuUsage(sealCpu))
    log(`  sealed in ${(sealMs / 1000).toFixed(1)} s`)

    rss.reset()
    const rssBeforeBytes = rss.peak
    let peakBeforeTenth: number | undefined
    let rssAtTenthBytes = 0
    let heapPeakFirstTenthBytes = 0
    let heapPeakAfterTenthBytes = 0
    const verifyStart = performance.now()
    const verifyCpu = process.cpuUsage()
    const report = await verifyLogs({
      db: h.db,
      auditor: h.auditor,
      verifier: h.verifier,
      // As the built package does by default (under tsx the default is off): on SQLite
      // the pages are read and hashed in leaf workers.
      workers: true,
      onProgress: (done) => {
        const heap = process.memoryUsage().heapUsed
        if (peakBeforeTenth !== undefined) {
          heapPeakAfterTenthBytes = Math.max(heapPeakAfterTenthBytes, heap)
          return
        }
        // Peak against peak: one sample at the tenth would land anywhere on the collector's
        // sawtooth (35 MB just after a collection in one run, 194 MB before one in another).
        heapPeakFirstTenthBytes = Math.max(heapPeakFirstTenthBytes, heap)
        if (done < events / 10) return
        peakBeforeTenth = rss.peak
        rss.reset()
        rssAtTenthBytes = rss.peak
      },
    })
    const verifyMs = performance.now() - verifyStart
    const verifyCpuMs = cpuMs(process.cpuUsage(verifyCpu))
    rss.sample()
    if (!report.clean)
      throw new Error(`verify found ${report.findings.length} findings: ${report.findings[0]?.detail}`)
    const log0 = report.logs[0]
    if (report.events !== events || log0?.leaves !== events || log0.unsealed !== 0)
      throw new Error(`verify saw ${report.events} events / ${log0?.leaves} leaves, expected ${events}`)
    log(`  verified in ${(verifyMs / 1000).toFixed(1)} s (${report.threads} leaf worker threads)`)
    return {
      events,
      seedMs,
      sealMs,
      verifyMs,
      sealCpuMs,
      verifyCpuMs,
      rssBeforeBytes,
      peakRssBytes: Math.max(peakBeforeTenth ?? 0, rss.peak),
      rssAtTenthBytes,
      peakAfterTenthBytes: rss.peak,
      heapPeakFirstTenthBytes,
      heapPeakAfterTenthBytes,
      checkpoints: log0.checkpoints,
    }
  } finally {
    await h.close()
  }
}
