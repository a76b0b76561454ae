/** bench:http report: the entry-list section (bench/http-entry-list.ts). */
import { renderTraces } from './create-trace.js'
import type { DialectRun } from './http-dialect.js'
import { fmt } from './http-load.js'
import { problems, RUN_COLUMNS, runCells, table } from './http-report-parts.js'

/** The entry phase's sections: lists, creates under a quota, the statement trace. */
export function renderEntries(ran: readonly DialectRun[]): string {
  const out: string[] = []
  out.push('## Entry lists over the seeded entry table', '')
  out.push(
    '`GET /api/v1/entries/article?limit=50` round-robin over the first page and 200 keyset cursors spread ' +
      'over the whole list, without and with `status=published` (about half the entries).',
    '',
  )
  const rows: string[][] = []
  for (const r of ran) {
    const e = r.entries
    if (e === undefined) continue
    for (const [label, m] of [
      ['no status filter', e.list],
      ['`status=published`', e.listByStatus],
    ] as const) {
      for (const [c, x] of m) {
        rows.push([r.name, e.seed.rows.toLocaleString('en'), label, String(c), ...runCells(x)])
      }
    }
  }
  out.push(table(['dialect', 'entries', 'filter', 'conn.', ...RUN_COLUMNS], rows), '')
  for (const r of ran) {
    const e = r.entries
    if (e !== undefined)
      out.push(
        `${r.name}: seeded ${e.seed.rows.toLocaleString('en')} entries with 1000-row INSERTs in ${fmt(e.seed.elapsedMs / 1000, 1)} s; statistics: ${e.analyze}.`,
        '',
      )
  }
  out.push('## Entry create with an entry quota set', '')
  out.push(
    'The same audited create as above, after `maxEntries` was set on the bench tenant (far above what the ' +
      'bench creates), so the limiter checks the quota on every create while the tenant holds the seeded entries.',
    '',
  )
  const quotaRows: string[][] = []
  for (const r of ran) {
    for (const [c, x] of r.entries?.quotaCreates ?? []) {
      const plain = r.creates.get(c)?.audited
      quotaRows.push([
        r.name,
        String(c),
        fmt(x.rps, 0),
        fmt(x.p50, 2),
        fmt(x.p99, 2),
        plain === undefined ? '–' : fmt(plain.rps, 0),
        problems(x),
      ])
    }
  }
  out.push(
    table(
      [
        'dialect',
        'conn.',
        'req/s (quota set)',
        'p50 ms',
        'p99 ms',
        'req/s without quota (above)',
        'errors/non-2xx',
      ],
      quotaRows,
    ),
    '',
  )
  for (const r of ran) {
    if (r.traces === undefined) continue
    out.push(`## Statements of one audited create (${r.name})`, '')
    out.push(
      'Every query the server sent for one `POST /api/v1/entries/article` after warm-up, logged at the ' +
        'driver (bench/create-trace.ts); statements written in the same tick share a round trip.',
      '',
    )
    out.push(renderTraces(r.traces))
  }
  return out.join('\n')
}
