/**
 * `verify`'s fast read, on every dialect: the database builds each event's leaf from the
 * stored columns (integrity/leaf-sql.ts, db/dialects/leaf-sql.ts). For a clean log written by
 * the engine — text needing every kind of JSON escape, integer-like and unsorted keys,
 * awkward numbers, updates and deletes — that leaf must equal the sealed one (`rechecked`
 * 0: no event needed the full read). A stored form that differs only in bytes (whitespace,
 * a sub-millisecond time) is decided by the full read: no finding. A real change, JSON that
 * is not JSON, or a value the database cannot quote is reported as modified, never missed
 * and never a crash.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import { type Kysely, sql } from 'kysely'
import {
  generateSigningKey,
  parseVerifierKey,
  signerFromKey,
  startSealer,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { sealAll } from './seal-all.js'
import { ctx, forEachDialect, newId, posts } from './setup.js'

// biome-ignore lint/suspicious/noExplicitAny: the test alters the library's tables directly.
type Db = Kysely<any>

/** A JSON column as a plain query returns it (text, or parsed by the driver). */
const parsed = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v)

/** Every character class JSON escapes or could be mis-escaped: quote, backslash, slash,
 * the short escapes, other control characters, DEL, non-ASCII, astral, U+2028/2029. */
const AWKWARD_ALL =
  'q"uote \\ back / slash \b\f\n\r\t ctl \u0001\u001f del \u007f é 漢字 😀 \u2028\u2029 <\'>'

/** What MariaDB's JSON_QUOTE escapes differently (`\u001F`): all but the control
 * characters that have short escapes or hex escapes of digits only. */
const COMMON = AWKWARD_ALL.replace('\u001f', '\u0019')

const CASES = ['clean', 'common', 'whitespace', 'changed', 'notJson', 'blob', 'micro'] as const
type Case = (typeof CASES)[number]

forEachDialect('verify: leaves built by the database', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.test'))
  const verifier = parseVerifierKey(signer.verifierKey)
  const tenant = Object.fromEntries(CASES.map((c) => [c, `${c}-${newId()}`])) as Record<Case, string>
  const k = () => f.db.kysely as Db
  const verify = (c: Case) => verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId: tenant[c] })
  /** The tenant's first event (a create) and its last (the delete). */
  const first = {} as Record<Case, string>

  before(async () => {
    const sealer = startSealer({ db: f.db, auditor: f.auditor, signer, checkpointEvents: 3 })
    for (const c of CASES) {
      const AWKWARD = c === 'clean' ? AWKWARD_ALL : COMMON
      const context = {
        ...ctx,
        tenantId: tenant[c],
        reason: `because ${AWKWARD}`,
        metadata: {
          '10': 1,
          '9': 2,
          b: { z: [1, { y: 0.1, x: -0 }], a: 1e21 },
          tiny: 5e-324,
          [AWKWARD]: AWKWARD,
        },
      }
      const id = newId()
      await f.auditor.create(
        posts,
        { id, title: AWKWARD, body: `body ${AWKWARD}`, tags: { '2': 'two', '10': ['ten', AWKWARD] } },
        context,
      )
      await f.auditor.update(posts, id, { title: `second ${AWKWARD}`, views: 123456789 }, context)
      await f.auditor.update(posts, id, { body: null, tags: [{ id: 2 }, { id: 1 }] }, context)
      await f.auditor.delete(posts, id, context)
      const rows = await k()
        .selectFrom('change_events')
        .select('event_id')
        .where('tenant_id', '=', tenant[c])
        .orderBy('hlc')
        .execute()
      first[c] = String(rows[0]?.event_id)
      await sealAll(sealer, f.db, tenant[c])
    }
    await sealer.stop()
  })

  const alter = (c: Case, set: Record<string, unknown>) =>
    k().updateTable('change_events').set(set).where('event_id', '=', first[c]).execute()

  it('a clean log: every leaf the database built matches, none needs the full read', async () => {
    const r = await verify('common')
    assert.deepEqual(r.findings, [])
    assert.equal(r.clean, true)
    assert.equal(r.events, 4)
    assert.equal(r.rechecked, 0, 'the database-built leaf differs from the canonical text')
  })

  it('a clean log with every control character: clean, MariaDB rechecking its \\u001F', async () => {
    const r = await verify('clean')
    assert.deepEqual(r.findings, [])
    assert.equal(r.events, 4)
    assert.equal(r.rechecked, f.name === 'mysql' ? 4 : 0)
  })

  it('JSON rewritten with whitespace (the same value): the full read decides, no finding', async () => {
    const row = await k()
      .selectFrom('change_events')
      .select(sql<string>`new_values`.as('v'))
      .where('event_id', '=', first.whitespace)
      .executeTakeFirstOrThrow()
    const spaced = JSON.stringify(parsed(row.v), null, 1)
    await alter('whitespace', { new_values: spaced })
    const r = await verify('whitespace')
    assert.deepEqual(r.findings, [])
    assert.equal(r.rechecked, 1)
  })

  it('a changed value inside the JSON is modified', async () => {
    const row = await k()
      .selectFrom('change_events')
      .select(sql<string>`new_values`.as('v'))
      .where('event_id', '=', first.changed)
      .executeTakeFirstOrThrow()
    const v = parsed(row.v) as Record<string, unknown>
    await alter('changed', { new_values: JSON.stringify({ ...v, title: 'forged' }) })
    const r = await verify('changed')
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.eventId]),
      [['modified', first.changed]],
    )
  })

  it('text that is not JSON in a JSON column (a splice attempt) is modified', async (t) => {
    if (f.name !== 'sqlite') {
      // PostgreSQL's json and MariaDB's JSON (a json_valid check) refuse such text on write.
      const refused = await alter('notJson', { metadata: 'null,"newValues":{}' }).then(
        () => false,
        () => true,
      )
      if (refused) return t.skip('this database refuses text that is not JSON in a JSON column')
    } else await alter('notJson', { metadata: 'null,"newValues":{}' })
    const r = await verify('notJson')
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.eventId]),
      [['modified', first.notJson]],
    )
  })

  it('a value the database cannot quote (a BLOB in a text column, SQLite) is modified, not a crash', async (t) => {
    if (f.name !== 'sqlite') return t.skip('only SQLite stores a BLOB in a text column')
    await k()
      .updateTable('change_events')
      .set({ actor_id: Buffer.from('user-1') })
      .where('event_id', '=', first.blob)
      .execute()
    const r = await verify('blob')
    assert.deepEqual(
      r.findings.map((x) => [x.kind, x.eventId]),
      [['modified', first.blob]],
    )
  })

  it('a time with sub-millisecond digits (PostgreSQL keeps microseconds): the full read decides', async (t) => {
    if (f.name !== 'postgres') return t.skip('only PostgreSQL stores times finer than the API returns')
    await sql`UPDATE change_events SET wall_time = wall_time + interval '1 microsecond' WHERE event_id = ${first.micro}`.execute(
      k(),
    )
    const r = await verify('micro')
    assert.deepEqual(r.findings, [])
    assert.equal(r.rechecked, 1)
  })
})
