/**
 * Fills `entries` for the entry-list benchmark of `npm run bench:http`: multi-row INSERTs
 * straight into the table (not through the API, so no events and no quota counter), rows
 * shaped as the CMS writes them. All rows belong to the bench tenant: 90 % of type
 * `article` (the listed type), 10 % `page`; status 45 % draft, 50 % published, 5 %
 * archived; ids are ULIDs over the last 30 days in time order, as the API would make them.
 */
import type { DialectName } from '../packages/audited/src/index.js'
import { encodeTime, RandomChars, runSeedStatement } from './http-seed.js'
import type { RawConnection, RawPool } from './raw-pools.js'

const ROWS_PER_STATEMENT = 1000
const SPAN_MS = 30 * 86_400_000
const COLUMNS = ['id', 'tenant_id', 'type', 'locale', 'status', 'data', 'version', 'created_at', 'updated_at']
/** Cursors (entry ids of the listed type) handed back for round-robin pages at every depth. */
const CURSORS = 200

export interface EntrySeedResult {
  readonly rows: number
  readonly elapsedMs: number
  /** `article` ids spread over the whole list, to page from. */
  readonly cursors: string[]
}

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu'.split(' ')

/** A timestamp as the dialect's column takes it from a raw driver. */
function stamp(dialect: DialectName, ms: number): string {
  const iso = new Date(ms).toISOString()
  return dialect === 'mysql' ? iso.replace('T', ' ').replace('Z', '') : iso
}

export async function seedEntries(
  dialect: DialectName,
  raw: RawPool,
  tenantId: string,
  total: number,
  log: (line: string) => void,
): Promise<EntrySeedResult> {
  const started = performance.now()
  const rnd = new RandomChars()
  const startMs = Date.now() - SPAN_MS - 120_000
  const stepMs = SPAN_MS / Math.max(1, total)
  const every = Math.max(1, Math.floor(total / CURSORS))
  const cursors: string[] = []
  const row = (k: number): unknown[] => {
    const ms = Math.floor(startMs + k * stepMs)
    const id = encodeTime(ms) + rnd.chars(16)
    const type = rnd.below(10) === 0 ? 'page' : 'article'
    if (type === 'article' && k % every === 0 && cursors.length < CURSORS) cursors.push(id)
    const s = rnd.below(100)
    const status = s < 45 ? 'draft' : s < 95 ? 'published' : 'archived'
    const data = JSON.stringify({
      title: `${WORDS[rnd.below(WORDS.length)]} ${WORDS[rnd.below(WORDS.length)]} ${k}`,
      body: 'Seeded for the entry-list benchmark. '.repeat(4),
      views: rnd.below(10_000),
      tags: ['seed', WORDS[rnd.below(WORDS.length)]],
    })
    const at = stamp(dialect, ms)
    return [id, tenantId, type, 'en', status, data, 1, at, at]
  }
  const statementFor = (rows: number) => {
    let p = 0
    const groups = Array.from(
      { length: rows },
      () => `(${COLUMNS.map(() => (dialect === 'postgres' ? `$${++p}` : '?')).join(', ')})`,
    )
    return {
      name: `bench_seed_entries_${rows}`,
      sql: `INSERT INTO entries (${COLUMNS.join(', ')}) VALUES ${groups.join(', ')}`,
    }
  }
  const full = statementFor(ROWS_PER_STATEMENT)
  let made = 0
  let lastLog = performance.now()
  await raw.withConnection(async (conn: RawConnection) => {
    // The next batch is generated while the database writes the current one.
    let pending: Promise<unknown> = Promise.resolve()
    while (made < total) {
      const n = Math.min(ROWS_PER_STATEMENT, total - made)
      const params: unknown[] = []
      for (let i = 0; i < n; i++) params.push(...row(made + i))
      made += n
      await pending
      pending = runSeedStatement(conn, n === ROWS_PER_STATEMENT ? full : statementFor(n), params)
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now()
        log(`  seeded ${made.toLocaleString('en')} / ${total.toLocaleString('en')} entries`)
      }
    }
    await pending
  })
  return { rows: total, elapsedMs: performance.now() - started, cursors }
}
