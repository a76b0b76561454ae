/**
 * Fills `change_events` for the read benchmark of `npm run bench:http`: multi-row INSERTs
 * straight into the table (not through the API), with rows shaped like the engine's.
 *
 * The synthetic history runs over the last 30 days in time order (so the HLC index grows
 * at its right edge, as it does in production): each step either creates a record (12 %)
 * or changes one of its tenant's existing records. Four tenants — the bench tenant gets
 * 40 % of the events, three others 20 % each; 85 % of the records are entries, the rest
 * media and users. The values are entry-sized JSON (about 400 bytes per image).
 */
import { randomBytes } from 'node:crypto'
import { EVENT_COLUMNS } from '../packages/audited/src/audit/change-event.js'
import type { DialectName } from '../packages/audited/src/index.js'
import type { RawConnection, RawPool } from './raw-pools.js'

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const DAY_MS = 86_400_000
const SPAN_MS = 30 * DAY_MS
const ROWS_PER_STATEMENT = 1000

/** Random Crockford characters from a pooled buffer (ulid's own source is ~57 µs an id). */
export class RandomChars {
  #pool = randomBytes(65536)
  #at = 0

  byte(): number {
    if (this.#at >= this.#pool.length) {
      this.#pool = randomBytes(65536)
      this.#at = 0
    }
    return this.#pool[this.#at++]!
  }

  chars(n: number): string {
    let s = ''
    for (let i = 0; i < n; i++) s += CROCKFORD[this.byte() & 31]
    return s
  }

  /** Uniform enough in [0, n) for n well below 2^16. */
  below(n: number): number {
    return ((this.byte() << 8) | this.byte()) % n
  }
}

export function encodeTime(ms: number): string {
  let s = ''
  let t = ms
  for (let i = 0; i < 10; i++) {
    s = CROCKFORD[t % 32] + s
    t = Math.floor(t / 32)
  }
  return s
}

interface SeedRecord {
  readonly table: string
  readonly id: string
  version: number
  status: 'draft' | 'published'
  state: string
}

interface SeedTenant {
  readonly id: string
  readonly share: number
  readonly records: SeedRecord[]
  readonly actors: string[]
}

export interface SeedResult {
  readonly rows: number
  readonly elapsedMs: number
  /** Entry records of the bench tenant that have seeded events (for the history route). */
  readonly benchEntryIds: string[]
  readonly records: number
}

const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'audited-sync/1.4 (+https://example.test)',
]

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore'.split(
    ' ',
  )

/** Runs a seeding statement; on SQLite retries while the server still finishes requests the
 * load generator gave up on (they can hold the writer longer than the busy timeout). */
export async function runSeedStatement(
  conn: RawConnection,
  statement: { name: string; sql: string },
  params: readonly unknown[],
): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await conn.run(statement, params)
    } catch (e) {
      if (attempt >= 10 || (e as { code?: unknown }).code !== 'SQLITE_BUSY') throw e
    }
  }
}

/** Generates the events and inserts them, `ROWS_PER_STATEMENT` rows per statement. */
export async function seedEvents(
  dialect: DialectName,
  raw: RawPool,
  benchTenantId: string,
  total: number,
  log: (line: string) => void,
): Promise<SeedResult> {
  const started = performance.now()
  const rnd = new RandomChars()
  const tenants: SeedTenant[] = [benchTenantId, '', '', ''].map((given, i) => ({
    id: given === '' ? `01J${rnd.chars(23)}` : given,
    share: i === 0 ? 0.4 : 0.2,
    records: [],
    actors: Array.from({ length: 5 + i * 3 }, () => `01J${rnd.chars(23)}`),
  }))
  const nodes = ['web-1', 'web-2', 'web-3']
  const startMs = Date.now() - SPAN_MS - 60_000
  const stepMs = SPAN_MS / Math.max(1, total)
  let lastWall = 0
  let counter = 0
  const sentence = (n: number) => Array.from({ length: n }, () => WORDS[rnd.below(WORDS.length)]).join(' ')

  const entryState = (id: string, version: number, status: string, at: string) =>
    JSON.stringify({
      id,
      type: 'article',
      locale: 'en',
      status,
      data: {
        title: sentence(6),
        body: sentence(30),
        views: rnd.below(10_000),
        tags: ['news', WORDS[rnd.below(WORDS.length)]],
      },
      version,
      created_at: at,
      updated_at: at,
    })

  /** One event row in EVENT_COLUMNS order. */
  const nextRow = (k: number): unknown[] => {
    const wall = Math.floor(startMs + k * stepMs)
    if (wall > lastWall) {
      lastWall = wall
      counter = 0
    } else counter += 1
    const hlc = (BigInt(lastWall) << 16n) | BigInt(counter)
    const at = new Date(lastWall).toISOString()
    let r = rnd.below(10_000) / 10_000
    let tenant = tenants[0]!
    for (const t of tenants) {
      if (r < t.share) {
        tenant = t
        break
      }
      r -= t.share
    }
    const create = tenant.records.length === 0 || rnd.below(100) < 12
    let record: SeedRecord
    let operation = 'UPDATE'
    let action = 'update'
    let oldValues: string | null
    let changed: string
    if (create) {
      const kind = rnd.below(100)
      const table = kind < 85 ? 'entries' : kind < 95 ? 'media' : 'users'
      const id = encodeTime(lastWall) + rnd.chars(16)
      record = { table, id, version: 1, status: 'draft', state: '' }
      record.state = entryState(id, 1, 'draft', at)
      tenant.records.push(record)
      operation = 'INSERT'
      action = 'create'
      oldValues = null
      changed = '["created_at","data","id","locale","status","type","updated_at","version"]'
    } else {
      record = tenant.records[rnd.below(tenant.records.length)]!
      oldValues = record.state
      record.version += 1
      if (record.table === 'entries' && rnd.below(100) < 15) {
        record.status = record.status === 'draft' ? 'published' : 'draft'
        action = record.status === 'published' ? 'publish' : 'unpublish'
        changed = '["status","updated_at","version"]'
      } else changed = '["data","updated_at","version"]'
      record.state = entryState(record.id, record.version, record.status, at)
    }
    return [
      encodeTime(lastWall) + rnd.chars(16),
      dialect === 'sqlite' ? hlc : hlc.toString(),
      at,
      nodes[rnd.below(nodes.length)],
      tenant.id,
      encodeTime(lastWall) + rnd.chars(16),
      record.table,
      record.id,
      operation,
      action,
      tenant.actors[rnd.below(tenant.actors.length)],
      'user',
      oldValues,
      record.state,
      changed,
      `req-${rnd.chars(12)}`,
      `10.${rnd.below(256)}.${rnd.below(256)}.${rnd.below(256)}`,
      AGENTS[rnd.below(AGENTS.length)],
      null,
      null,
    ]
  }

  const columns = EVENT_COLUMNS.join(', ')
  const statementFor = (rows: number) => {
    const groups: string[] = []
    let p = 0
    for (let i = 0; i < rows; i++) {
      const marks = EVENT_COLUMNS.map(() => (dialect === 'postgres' ? `$${++p}` : '?'))
      groups.push(`(${marks.join(', ')})`)
    }
    return {
      name: `bench_seed_events_${rows}`,
      sql: `INSERT INTO change_events (${columns}) VALUES ${groups.join(', ')}`,
    }
  }
  const full = statementFor(ROWS_PER_STATEMENT)

  let made = 0
  const batch = (): unknown[] => {
    const n = Math.min(ROWS_PER_STATEMENT, total - made)
    const params: unknown[] = []
    for (let i = 0; i < n; i++) params.push(...nextRow(made + i))
    made += n
    return params
  }
  let lastLog = performance.now()
  await raw.withConnection(async (conn: RawConnection) => {
    // The next batch is generated while the database writes the current one.
    let pending: Promise<unknown> = Promise.resolve()
    while (made < total) {
      const n = Math.min(ROWS_PER_STATEMENT, total - made)
      const params = batch()
      await pending
      pending = runSeedStatement(conn, n === ROWS_PER_STATEMENT ? full : statementFor(n), params)
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now()
        log(`  seeded ${made.toLocaleString('en')} / ${total.toLocaleString('en')} events`)
      }
    }
    await pending
  })
  const bench = tenants[0]!
  return {
    rows: total,
    elapsedMs: performance.now() - started,
    benchEntryIds: bench.records.filter((r) => r.table === 'entries').map((r) => r.id),
    records: tenants.reduce((n, t) => n + t.records.length, 0),
  }
}
