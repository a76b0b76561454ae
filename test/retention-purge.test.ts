/**
 * Archive, then purge (the library's `purgeExpired`), on every dialect: sealed events
 * covered by a checkpoint go to a gzip NDJSON segment under a signed manifest, are deleted
 * in batches while their leaves stay (marked), so every proof still verifies and
 * `verifyLogs` stays clean; `verifyArchive` checks the files; a forged purge marking, a
 * changed archive file or manifest is reported; holds, unsealed events and events that no
 * longer hash to their leaf are never purged; a dry run changes nothing; a segment that
 * cannot be written purges nothing.
 */
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { sql } from 'kysely'
import {
  type ChangeEvent,
  eventLeafHash,
  fromHex,
  generateSigningKey,
  isAuditedError,
  LogProofs,
  openCheckpoint,
  openManifest,
  parseVerifierKey,
  purgeExpired,
  signerFromKey,
  signManifest,
  startSealer,
  verifyArchive,
  verifyInclusion,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { sealAll } from './seal-all.js'
import { ctx, forEachDialect, newId, posts } from './setup.js'

forEachDialect('retention: archive and purge', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.retention'))
  const verifier = parseVerifierKey(signer.verifierKey)
  const dir = mkdtempSync(join(tmpdir(), 'audited-archive-'))
  const [a, b, c] = [`ra-${newId()}`, `rb-${newId()}`, `rc-${newId()}`]
  // biome-ignore lint/suspicious/noExplicitAny: the test addresses the integrity tables by name.
  const db = () => f.db.kysely as any
  const soon = () => new Date(Date.now() + 1000)
  // Not the feed: its bound may hide a just-committed (unsealed) event for a moment.
  const eventsOf = async (tenantId: string) => (await f.auditor.events.list({ tenantId, limit: 1000 })).events
  const write = async (tenantId: string, n: number, actorId = 'user-1') => {
    const ids = Array.from({ length: n }, () => newId())
    await f.auditor.createMany(
      posts,
      ids.map((id) => ({ id, title: `t ${id}` })),
      { ...ctx, tenantId, actorId },
    )
    return ids
  }

  before(async () => {
    const sealer = startSealer({ db: f.db, auditor: f.auditor, signer, checkpointEvents: 5 })
    for (const t of [a, b, c]) await write(t, 12)
    for (const t of [a, b, c]) await sealAll(sealer, f.db, t)
    await sealer.stop() // what is written from now on stays unsealed
    await sql
      .raw(`CREATE TABLE snap_b AS SELECT * FROM change_events WHERE tenant_id = '${b}'`)
      .execute(f.db.kysely)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('a dry run counts what would go and changes nothing', async () => {
    const report = await purgeExpired({
      db: f.db,
      auditor: f.auditor,
      signer,
      tenantId: a,
      before: soon(),
      archiveDir: dir,
      dryRun: true,
    })
    assert.equal(report.due, 12)
    assert.equal(report.purged, 0)
    assert.deepEqual(report.segments, [])
    assert.equal((await eventsOf(a)).length, 12)
    assert.deepEqual(readdirSync(dir), [])
    assert.equal((await db().selectFrom('audited_archive_segments').selectAll().execute()).length, 0)
  })

  it('purges sealed, covered events into a verified segment; proofs and the verifier stay valid', async () => {
    const events = await eventsOf(a)
    const late = await write(a, 2) // not sealed yet: never purged
    const progress: number[] = []
    const report = await purgeExpired({
      db: f.db,
      auditor: f.auditor,
      signer,
      tenantId: a,
      before: soon(),
      archiveDir: dir,
      batchSize: 5,
      onProgress: (p) => progress.push(p.purged),
    })
    assert.equal(report.purged, 12)
    assert.equal(report.uncovered, 2)
    assert.equal(report.segments.length, 1)
    assert.ok(progress.includes(5) && progress.includes(10), 'progress per batch')
    const [segment] = report.segments
    assert.deepEqual([segment!.first, segment!.last, segment!.count, segment!.purged], [0, 11, 12, 12])
    assert.deepEqual(
      (await eventsOf(a)).map((e) => e.recordId),
      late,
      'only the unsealed events are left',
    )
    // The segment file: one line per event with its leaf index, in leaf order.
    const lines = gunzipSync(readFileSync(join(dir, segment!.file!)))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { leafIndex: number; event: ChangeEvent })
    assert.deepEqual(
      lines.map((l) => [l.leafIndex, l.event.eventId]),
      events.map((e, i) => [i, e.eventId]),
    )
    const facts = openManifest(readFileSync(join(dir, segment!.manifest!), 'utf8'), verifier)
    assert.equal(facts.tenantId, a)
    assert.equal(facts.count, 12)
    assert.equal(facts.file?.sha256, segment!.sha256)
    // A purged event's proof still verifies, from its archived copy.
    const proofs = new LogProofs(f.db)
    for (const line of lines) {
      const p = await proofs.event(line.event.eventId, a)
      const cp = openCheckpoint(p.checkpoint.note, verifier)
      assert.ok(
        verifyInclusion(
          eventLeafHash(line.event),
          p.leafIndex,
          p.treeSize,
          p.path.map(fromHex),
          fromHex(cp.rootHash),
        ),
      )
    }
    const verified = await verifyLogs({ db: f.db, auditor: f.auditor, verifier })
    assert.deepEqual(verified.findings, [])
    const archived = await verifyArchive({ db: f.db, verifier, dir })
    assert.deepEqual(archived.findings, [])
    assert.equal(archived.events, 12)
  })

  it('a forged purge marking is reported, and so is an unsigned manifest', async () => {
    const [victim] = await eventsOf(b)
    const [segment] = await db().selectFrom('audited_archive_segments').selectAll().execute()
    await db().deleteFrom('change_events').where('event_id', '=', victim!.eventId).execute()
    await db()
      .updateTable('audited_log_leaves')
      .set({ segment_id: segment.segment_id })
      .where('event_id', '=', victim!.eventId)
      .execute()
    let report = await verifyLogs({ db: f.db, auditor: f.auditor, verifier })
    assert.deepEqual(report.findings.map((x) => [x.kind, x.eventId]).sort(), [
      ['deleted', victim!.eventId],
      ['forged_purge', victim!.eventId],
    ])
    // A segment row whose manifest is signed by another key covers nothing either.
    const other = signerFromKey(generateSigningKey('audited.retention'))
    const forged = {
      ...segment,
      log_key: b,
      segment_id: `${segment.segment_id.slice(0, 25)}${segment.segment_id.endsWith('Z') ? 'Y' : 'Z'}`,
    }
    const facts = openManifest(segment.note, verifier)
    forged.note = signManifest(other, {
      ...facts,
      segmentId: forged.segment_id,
      tenantId: b,
      ranges: [[0, 0]],
      first: 0,
      last: 0,
      count: 1,
    })
    await db().insertInto('audited_archive_segments').values(forged).execute()
    await db()
      .updateTable('audited_log_leaves')
      .set({ segment_id: forged.segment_id })
      .where('event_id', '=', victim!.eventId)
      .execute()
    report = await verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId: b })
    assert.ok(
      report.findings.some((x) => x.kind === 'forged_purge' && /not validly signed/.test(x.detail)),
      JSON.stringify(report.findings),
    )
    assert.ok(report.findings.some((x) => x.kind === 'deleted' && x.eventId === victim!.eventId))
    // Restored: clean again.
    await db().deleteFrom('audited_archive_segments').where('segment_id', '=', forged.segment_id).execute()
    await sql
      .raw(`INSERT INTO change_events SELECT * FROM snap_b WHERE event_id = '${victim!.eventId}'`)
      .execute(f.db.kysely)
    await db()
      .updateTable('audited_log_leaves')
      .set({ segment_id: null })
      .where('event_id', '=', victim!.eventId)
      .execute()
    assert.deepEqual((await verifyLogs({ db: f.db, auditor: f.auditor, verifier })).findings, [])
  })

  it('a changed archive file or manifest is reported by verifyArchive', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'audited-archive-copy-'))
    try {
      cpSync(dir, copy, { recursive: true })
      const [log] = readdirSync(copy)
      const files = readdirSync(join(copy, log!))
      const data = join(copy, log!, files.find((n) => n.endsWith('.ndjson.gz'))!)
      const manifest = join(copy, log!, files.find((n) => n.endsWith('.manifest'))!)
      // One event's reason changed, the file re-compressed: another SHA-256.
      const text = gunzipSync(readFileSync(data)).toString('utf8')
      writeFileSync(data, gzipSync(Buffer.from(text.replace('"reason":null', '"reason":"x"'), 'utf8')))
      let r = await verifyArchive({ db: f.db, verifier, dir: copy })
      assert.deepEqual(
        r.findings.map((x) => x.kind),
        ['file_hash'],
      )
      // The manifest's file hash edited to match: its signature no longer verifies.
      const note = readFileSync(manifest, 'utf8')
      writeFileSync(manifest, note.replace(/^file (\S+) [0-9a-f]{64}$/m, `file $1 ${'0'.repeat(64)}`))
      r = await verifyArchive({ db: f.db, verifier, dir: copy })
      assert.deepEqual(r.findings.map((x) => x.kind).sort(), ['bad_signature', 'file_missing'])
      rmSync(join(copy, log!), { recursive: true })
      r = await verifyArchive({ db: f.db, verifier, dir: copy })
      assert.deepEqual(
        r.findings.map((x) => x.kind),
        ['file_missing'],
      )
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  })

  it('holds, changed events and a failing archive keep events; no archive still signs a manifest', async () => {
    const events = await eventsOf(c)
    const keep = events[3]!
    await db()
      .updateTable('change_events')
      .set({ reason: 'edited' })
      .where('event_id', '=', events[7]!.eventId)
      .execute()
    // An archive directory that cannot be created: nothing is purged.
    const blocker = join(dir, 'not-a-directory')
    writeFileSync(blocker, 'x')
    await assert.rejects(
      purgeExpired({
        db: f.db,
        auditor: f.auditor,
        signer,
        tenantId: c,
        before: soon(),
        archiveDir: blocker,
      }),
      (e: unknown) => isAuditedError(e) && e.code === 'unavailable' && e.details?.reason === 'archive_failed',
    )
    assert.equal((await eventsOf(c)).length, 12)
    let checks = 0
    const report = await purgeExpired({
      db: f.db,
      auditor: f.auditor,
      signer,
      tenantId: c,
      before: soon(),
      batchSize: 4,
      holds: async () => {
        checks += 1
        return (e) => e.recordId === keep.recordId
      },
    })
    assert.equal(report.purged, 10)
    assert.equal(report.held, 1)
    assert.equal(report.refusedCount, 1)
    assert.equal(report.refused[0]?.eventId, events[7]!.eventId)
    assert.ok(checks >= 1 + 3, 'holds read at the start and before every batch')
    assert.equal(report.segments[0]?.file, null)
    assert.deepEqual(
      (await eventsOf(c)).map((e) => e.eventId),
      [keep.eventId, events[7]!.eventId],
    )
    const found = await verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId: c })
    assert.deepEqual(
      found.findings.map((x) => [x.kind, x.eventId]),
      [['modified', events[7]!.eventId]],
    )
    assert.deepEqual((await verifyArchive({ db: f.db, verifier, dir, tenantId: c })).findings, [])
  })
})
