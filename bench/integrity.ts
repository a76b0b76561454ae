/**
 * The integrity figures of issue 10, per dialect, each measured in this run: verification
 * speed over a sealed log of N events (and sealing speed), the commit → checkpoint lag at
 * 16 writers, and two same-run write ratios (sealing on ÷ off, personal ÷ plain columns).
 * Run with `npm run bench` (BENCH_CASES=all) or alone with BENCH_CASES=integrity; the
 * report is bench/integrity-results.md (bench/integrity-report.ts).
 */
import type { DialectName } from '../packages/audited/src/index.js'
import { ROUNDS, type Sizes } from './config.js'
import type { DialectTarget, PendingDrops } from './databases.js'
import { type AbCell, benchPersonalCost, benchSealingCost } from './integrity-ab.js'
import { benchLag, type LagFigures } from './integrity-lag.js'
import { benchVerify, type VerifyFigures } from './integrity-verify.js'
import type { RssSampler } from './measure.js'

/** Events in the verified log at scale 1. MariaDB's engine createMany is about 2× slower
 * than PostgreSQL's here, so its log is smaller to keep the run short. */
const VERIFY_EVENTS: Readonly<Record<DialectName, number>> = {
  sqlite: 1_000_000,
  postgres: 1_000_000,
  mysql: 200_000,
}
const LAG_MS = 15_000

export interface IntegritySizes {
  readonly verifyEvents: number
  readonly lagMs: number
  /** Operations per A/B round and warm-up operations per side. */
  readonly perRound: number
  readonly warmup: number
}

export function integritySizes(name: DialectName, scale: number, sizes: Sizes): IntegritySizes {
  return {
    verifyEvents: Math.max(2000, Math.round((VERIFY_EVENTS[name] * scale) / 1000) * 1000),
    lagMs: Math.max(3000, Math.round(LAG_MS * Math.min(1, scale))),
    perRound: Math.max(2, Math.round(sizes.ops / 2 / ROUNDS)),
    warmup: sizes.warmup,
  }
}

export type IntegrityReport =
  | {
      readonly name: DialectName
      readonly status: 'ran'
      readonly sizes: IntegritySizes
      readonly verify: VerifyFigures
      readonly lag: LagFigures
      readonly sealing: AbCell[]
      readonly personal: AbCell[]
      readonly elapsedMs: number
    }
  | { readonly name: DialectName; readonly status: 'skipped' | 'failed'; readonly reason: string }

export async function benchIntegrity(
  target: DialectTarget,
  sizes: IntegritySizes,
  rss: RssSampler,
  log: (line: string) => void,
  drops: PendingDrops,
): Promise<IntegrityReport> {
  const { name } = target
  const unreachable = await target.unreachable()
  if (unreachable !== undefined) return { name, status: 'skipped', reason: `not reachable: ${unreachable}` }
  const started = performance.now()
  try {
    const verify = await benchVerify(target, sizes.verifyEvents, drops, rss, log)
    const lag = await benchLag(target, sizes.lagMs, drops, log)
    const sealing = await benchSealingCost(target, sizes.perRound, sizes.warmup, drops, rss)
    log('  sealing on ÷ off measured')
    const personal = await benchPersonalCost(target, sizes.perRound, sizes.warmup, drops, rss)
    log('  personal ÷ plain measured')
    return {
      name,
      status: 'ran',
      sizes,
      verify,
      lag,
      sealing,
      personal,
      elapsedMs: performance.now() - started,
    }
  } catch (e) {
    log(`${name} integrity bench FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
    return { name, status: 'failed', reason: e instanceof Error ? e.message : String(e) }
  }
}
