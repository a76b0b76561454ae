/**
 * The audit export at 100,000 events, on every dialect: streamed over a real socket and
 * consumed incrementally, memory stays flat (about one page of events) while well over
 * 100 MiB go through; every line is a valid event, in cursor order, none missing, none twice.
 * The CLI export writes one line per event to its file.
 *
 * Memory is measured in this process, which runs both the server and the client: live
 * memory (V8 heap + external buffers, where a socket's queue lives) after a forced GC,
 * sampled every 4 MiB received, above a baseline taken just before the request. A
 * control run (SQLite) keeps every chunk it receives — what a buffering export would hold —
 * and must exceed the bound, which shows the assertion can fail.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { sql } from 'kysely'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { CSV_COLUMNS } from '../packages/audited/src/audit/event-export.js'
import type { AuditContext } from '../packages/audited/src/core/audit-context.js'
import type { AuditedDatabase } from '../packages/audited/src/db/open-database.js'
import { type EntryRow, entries } from '../packages/cms/src/cms/entities.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { BOUNDED } from './child-support.js'
import { databaseUrlOf } from './database-url.js'
import { apiToken, forEachHttpDialect } from './http-setup.js'
import { PERSONAL_DATA } from './setup.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))

const SEEDED = 100_000
const BATCH = 1000
const MIB = 1024 * 1024
/** Bytes between two memory samples (a forced GC costs tens of ms: ~35 samples per export). */
const SAMPLE_EVERY = 4 * MIB
/** Peak live-memory growth while streaming must stay below this… */
const BOUND = 32 * MIB
/** …and below this share of the bytes exported. */
const SHARE = 0.25
/** The entry body: each event line is about 1.4 kB, so the export is about 137 MiB. */
const BODY = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(11)

// `gc()` without `--expose-gc` on the command line (node --test runs each file in its own process).
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function live(): number {
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

const mib = (n: number) => `${(n / MIB).toFixed(1)} MiB`
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`

async function eventsOfTenant(db: AuditedDatabase, tenantId: string): Promise<number> {
  const row = await db.readKysely
    .selectFrom('change_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

interface Streamed {
  status: number
  contentType: string
  bytes: number
  lines: number
  /** The highest live memory (after GC) above the baseline, while the body streamed. */
  peakGrowth: number
  samples: number
  ms: number
}

/**
 * GETs `path` over a socket and hands each complete line to `onLine` as it arrives. Keeps
 * nothing but the tail of an unfinished line — unless `retain` (the control), which keeps
 * every chunk as a buffering export would.
 */
function streamLines(
  port: number,
  path: string,
  token: string,
  onLine: (line: string) => void,
  options: { separator?: string; retain?: boolean } = {},
): Promise<Streamed> {
  const separator = options.separator ?? '\n'
  gc()
  const baseline = live()
  const started = performance.now()
  let peakGrowth = 0
  let samples = 0
  let bytes = 0
  let lines = 0
  let nextSample = SAMPLE_EVERY
  let kept: Buffer[] = []
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let tail = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          bytes += Buffer.byteLength(chunk)
          if (options.retain === true) kept.push(Buffer.from(chunk))
          const text = tail + chunk
          let start = 0
          for (let end = text.indexOf(separator); end !== -1; end = text.indexOf(separator, start)) {
            onLine(text.slice(start, end))
            lines += 1
            start = end + separator.length
          }
          tail = text.slice(start)
          if (bytes >= nextSample) {
            nextSample = bytes + SAMPLE_EVERY
            gc()
            samples += 1
            peakGrowth = Math.max(peakGrowth, live() - baseline)
          }
        })
        res.on('error', reject)
        res.on('end', () => {
          if (tail !== '') {
            onLine(tail)
            lines += 1
          }
          kept = []
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type']),
            bytes,
            lines,
            peakGrowth,
            samples,
            ms: performance.now() - started,
          })
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Asserts (hlc, eventId) strictly increasing — cursor order, so no duplicates — keeping
 * only the previous pair. */
function cursorOrder(): (hlc: string, eventId: string) => void {
  let lastHlc = -1n
  let lastId = ''
  let n = 0
  return (hlc, eventId) => {
    const h = BigInt(hlc)
    if (!(h > lastHlc || (h === lastHlc && eventId > lastId))) {
      assert.fail(`event ${n} (${eventId}, hlc ${hlc}) does not follow ${lastId} (hlc ${lastHlc})`)
    }
    lastHlc = h
    lastId = eventId
    n += 1
  }
}

function assertFlat(r: Streamed): void {
  assert.ok(
    r.bytes > 3 * BOUND,
    `the export (${mib(r.bytes)}) must dwarf the bound for the test to mean anything`,
  )
  assert.ok(r.samples >= 25, `sampled ${r.samples} times`)
  assert.ok(r.peakGrowth < BOUND, `peak growth ${mib(r.peakGrowth)} must stay below ${mib(BOUND)}`)
  assert.ok(
    r.peakGrowth < SHARE * r.bytes,
    `peak growth ${mib(r.peakGrowth)} must stay below ${SHARE} of ${mib(r.bytes)}`,
  )
}

async function countLines(file: string): Promise<number> {
  let n = 0
  for await (const chunk of createReadStream(file)) {
    for (const byte of chunk as Buffer) if (byte === 10) n += 1
  }
  return n
}

forEachHttpDialect('export of 100k events in constant memory', (f) => {
  const dir = mkdtempSync(join(tmpdir(), 'audited-export-'))
  let port = 0
  let token = ''
  /** Every event of the tenant: the setup's own plus the seeded ones, counted in the table. */
  let expected = 0
  let started = 0
  let seedMs = 0

  before(async () => {
    started = performance.now()
    token = await apiToken(f, f.tenantId, 'auditor')
    const setupEvents = await eventsOfTenant(f.db, f.tenantId)
    // The engine's own bulk path, so every event is one the engine wrote. A generous deadline:
    // two suites seed in parallel on a small machine.
    const seeder = createAuditor({ personalData: PERSONAL_DATA, db: f.db, timeoutMs: 60_000 })
    const ctx: AuditContext = { tenantId: f.tenantId, actorId: 'bulk', actorType: 'system', reason: 'seed' }
    for (let made = 0; made < SEEDED; made += BATCH) {
      const now = new Date()
      const rows: Partial<EntryRow>[] = Array.from({ length: BATCH }, (_, i) => ({
        id: newRecordId(),
        type: 'article',
        locale: 'en',
        status: 'draft',
        data: { title: `Entry ${made + i}`, body: `${made + i} ${BODY}` },
        created_at: now,
        updated_at: now,
      }))
      await seeder.createMany(entries, rows, ctx)
      // A table that grows this fast outruns autovacuum's statistics: with the stale ones
      // PostgreSQL plans the engine's per-record "newest HLC" lookup of a 1,000-row batch as
      // a scan of every event of the table, and seeding turns quadratic (minutes instead of
      // seconds). What a bulk load does in production too: refresh the statistics.
      if (f.name === 'postgres' && (made / BATCH) % 10 === 0)
        await sql`ANALYZE change_events`.execute(f.db.kysely)
    }
    expected = await eventsOfTenant(f.db, f.tenantId)
    assert.equal(expected, setupEvents + SEEDED)
    seedMs = performance.now() - started
    await f.app.listen({ host: '127.0.0.1', port: 0 })
    port = (f.app.server.address() as AddressInfo).port
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('ndjson over a socket: every event once, in cursor order, memory flat', async (t) => {
    const order = cursorOrder()
    let seededCreates = 0
    const r = await streamLines(port, '/api/v1/audit/export?format=ndjson', token, (line) => {
      const e = JSON.parse(line) as {
        eventId: string
        hlc: string
        tenantId: string
        table: string
        action: string
        actorId: string
      }
      assert.equal(e.tenantId, f.tenantId)
      order(e.hlc, e.eventId)
      if (e.table === 'entries' && e.action === 'create' && e.actorId === 'bulk') seededCreates += 1
    })
    t.diagnostic(`seeded ${SEEDED} events in ${secs(seedMs)}`)
    t.diagnostic(
      `ndjson: ${r.lines} events, ${mib(r.bytes)} in ${secs(r.ms)}; ` +
        `peak live growth ${mib(r.peakGrowth)} (${r.samples} samples after GC)`,
    )
    assert.equal(r.status, 200)
    assert.match(r.contentType, /^application\/x-ndjson/)
    assert.equal(r.lines, expected)
    assert.equal(seededCreates, SEEDED)
    assertFlat(r)
  })

  it('csv over a socket: the header, then one row per event in cursor order, memory flat', async (t) => {
    const order = cursorOrder()
    let rows = -1
    const r = await streamLines(
      port,
      '/api/v1/audit/export?format=csv',
      token,
      (line) => {
        if (rows === -1) assert.equal(line, CSV_COLUMNS.join(','))
        else {
          // eventId and hlc lead every row; nothing here has a quoted line break.
          const m = /^([0-9A-HJKMNP-TV-Z]{26}),(\d+),/.exec(line)
          assert.ok(m !== null, `row ${rows} starts with an event id and an HLC`)
          order(m[2]!, m[1]!)
        }
        rows += 1
      },
      { separator: '\r\n' },
    )
    t.diagnostic(`csv: ${rows} rows, ${mib(r.bytes)} in ${secs(r.ms)}; peak live growth ${mib(r.peakGrowth)}`)
    assert.equal(r.status, 200)
    assert.match(r.contentType, /^text\/csv/)
    assert.equal(rows, expected)
    assertFlat(r)
  })

  it('control: a client that keeps the body exceeds the bound, so the assertion can fail', async (t) => {
    if (f.name !== 'sqlite') return t.skip('measured once, on SQLite')
    const r = await streamLines(port, '/api/v1/audit/export?format=ndjson', token, () => {}, { retain: true })
    t.diagnostic(`control: peak live growth ${mib(r.peakGrowth)} while keeping ${mib(r.bytes)}`)
    assert.equal(r.lines, expected)
    assert.ok(r.peakGrowth > BOUND && r.peakGrowth > SHARE * r.bytes, mib(r.peakGrowth))
  })

  it('cli export --out FILE: one line per event, progress at 100%', async (t) => {
    const out = join(dir, `events-${f.name}.ndjson`)
    const env = {
      ...process.env,
      DATABASE_URL: await databaseUrlOf(f.name, f.db),
      LOG_LEVEL: 'silent',
    }
    const args = ['export', '--format', 'ndjson', '--tenant', f.tenantId, '--out', out]
    const cliStarted = performance.now()
    const r = await exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, ...args], {
      env,
      ...BOUNDED,
    })
    t.diagnostic(
      `cli: ${mib(statSync(out).size)} in ${secs(performance.now() - cliStarted)}; ` +
        `this dialect in all: ${secs(performance.now() - started)}`,
    )
    assert.match(r.stderr, new RegExp(`100% ${expected}/${expected} events`))
    assert.match(r.stderr, new RegExp(`wrote ${expected} events to `))
    assert.equal(await countLines(out), expected)
  })
})
