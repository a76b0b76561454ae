/** Timing: a fixed number of operations shared by N concurrent callers, each one timed. */
import { performance } from 'node:perf_hooks'

/** Tracks the peak resident set size, sampled on a timer and from the operation loop. */
export class RssSampler {
  #peak = 0
  #overall = 0
  readonly #timer: NodeJS.Timeout

  constructor(intervalMs = 20) {
    this.#timer = setInterval(() => this.sample(), intervalMs)
    this.#timer.unref()
  }

  sample(): void {
    const rss = process.memoryUsage.rss()
    if (rss > this.#peak) this.#peak = rss
    if (rss > this.#overall) this.#overall = rss
  }

  /** Starts a new per-case peak. */
  reset(): void {
    this.#peak = 0
    this.sample()
  }

  get peak(): number {
    return this.#peak
  }

  get overallPeak(): number {
    return this.#overall
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}

/** One measured run (a round of a case). */
export interface Sample {
  readonly ops: number
  readonly rowsPerOp: number
  readonly elapsedMs: number
  readonly latenciesMs: readonly number[]
  readonly peakRssBytes: number
}

export interface CaseStats {
  readonly ops: number
  readonly opsPerSec: number
  readonly rowsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly peakRssBytes: number
}

/**
 * Runs `op(0)` … `op(count - 1)`, `concurrency` at a time (each caller takes the next
 * index when its previous operation settles). The first failure stops every caller and
 * is rethrown: a bench that silently counts errors as operations would lie.
 */
export async function measure(
  count: number,
  concurrency: number,
  rowsPerOp: number,
  rss: RssSampler,
  op: (i: number) => Promise<void>,
): Promise<Sample> {
  const latencies = new Array<number>(count)
  let next = 0
  let failure: { error: unknown } | undefined
  const caller = async () => {
    while (failure === undefined) {
      const i = next++
      if (i >= count) return
      const start = performance.now()
      try {
        await op(i)
      } catch (error) {
        failure ??= { error }
        return
      }
      latencies[i] = performance.now() - start
      if (i % 64 === 0) rss.sample()
    }
  }
  rss.reset()
  const start = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, caller))
  const elapsedMs = performance.now() - start
  rss.sample()
  if (failure !== undefined) throw failure.error
  return { ops: count, rowsPerOp, elapsedMs, latenciesMs: latencies, peakRssBytes: rss.peak }
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil(p * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

/** Pools the rounds of one case: throughput over their summed time, percentiles over all
 * their latencies. */
export function summarize(samples: readonly Sample[]): CaseStats {
  const ops = samples.reduce((n, s) => n + s.ops, 0)
  const rows = samples.reduce((n, s) => n + s.ops * s.rowsPerOp, 0)
  const seconds = samples.reduce((t, s) => t + s.elapsedMs, 0) / 1000
  const sorted = samples.flatMap((s) => s.latenciesMs).sort((a, b) => a - b)
  return {
    ops,
    opsPerSec: ops / seconds,
    rowsPerSec: rows / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    peakRssBytes: Math.max(...samples.map((s) => s.peakRssBytes)),
  }
}
