/** bench:http: the summary printed at the end of a run. */
import type { DialectRun } from './http-dialect.js'
import { fmt } from './http-load.js'
import { type RunFacts, verdict } from './http-report-parts.js'
import { DIRECTUS_QUOTED, FULL_SCALE_EVENTS, TARGET_RATIO, TARGET_READ_P99_MS } from './http-settings.js'

export function renderConsole(runs: readonly DialectRun[], facts: RunFacts): string {
  const lines: string[] = ['', `bench:http — ${facts.settings.mode} server, ${facts.settings.seconds} s runs`]
  for (const r of runs) {
    if (r.status !== 'ran') {
      lines.push(`${r.name}: ${r.status} (${r.reason})`)
      continue
    }
    lines.push(`\n${r.name}`)
    for (const [c, w] of r.creates) {
      const ratio = w.audited.rps / w.bare.rps
      lines.push(
        `  create c=${String(c).padStart(2)}: audited ${fmt(w.audited.rps, 0)} req/s (p99 ${fmt(w.audited.p99, 1)} ms), ` +
          `bare ${fmt(w.bare.rps, 0)} req/s, ratio ${fmt(ratio, 2)} ${verdict(ratio >= TARGET_RATIO)}`,
      )
    }
    for (const [c, x] of r.updates)
      lines.push(`  update c=${String(c).padStart(2)}: ${fmt(x.rps, 0)} req/s (p99 ${fmt(x.p99, 1)} ms)`)
    for (const [label, m] of [
      ['events?limit=50', r.eventList],
      ['history', r.history],
    ] as const) {
      for (const [c, x] of m) {
        lines.push(
          `  ${label} c=${String(c).padStart(2)}: ${fmt(x.rps, 0)} req/s, p50 ${fmt(x.p50, 2)} ms, p99 ${fmt(x.p99, 2)} ms` +
            (facts.settings.events >= FULL_SCALE_EVENTS ? ` ${verdict(x.p99 < TARGET_READ_P99_MS)}` : ''),
        )
      }
    }
    const quoted = DIRECTUS_QUOTED[r.name]
    const ours = r.creates.get(16)?.audited.rps
    if (quoted !== undefined && ours !== undefined) {
      lines.push(`  vs Directus 11 (quoted, not measured): ${quoted} req/s → ${fmt(ours / quoted, 1)}×`)
    }
    const e = r.entries
    if (e !== undefined) {
      for (const [label, m] of [
        ['entries?limit=50', e.list],
        ['entries?limit=50&status', e.listByStatus],
        ['create, quota set', e.quotaCreates],
      ] as const) {
        for (const [c, x] of m)
          lines.push(
            `  ${label} c=${String(c).padStart(2)}: ${fmt(x.rps, 0)} req/s, p50 ${fmt(x.p50, 2)} ms, p99 ${fmt(x.p99, 2)} ms`,
          )
      }
    }
  }
  lines.push(`\n${fmt(facts.elapsedMs / 1000, 0)} s in all`)
  return `${lines.join('\n')}\n`
}
