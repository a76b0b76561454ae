/**
 * Retention over HTTP and its runs, on every dialect: the policy and legal-hold routes
 * (admins only, bad input 400 with nothing changed, every change an audited event), and
 * runs that archive then purge exactly what is due — a hold on the tenant, a record or an
 * actor keeps exactly what it covers until it is released — each recorded by one `purge`
 * event naming its manifests, with the log, the proofs and the archive still verifying.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import {
  type ChangeEvent,
  generateSigningKey,
  LogProofs,
  parseVerifierKey,
  type Sealer,
  signerFromKey,
  startSealer,
  verifyArchive,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { runRetention, type TenantRetention } from '../packages/cms/src/cms/retention-run.js'
import { loadConfig } from '../packages/cms/src/server/config.js'
import { retentionSettings, startRetention } from '../packages/cms/src/server/retention-settings.js'
import { apiToken, forEachHttpDialect } from './http-setup.js'
import { sealAll } from './seal-all.js'

forEachHttpDialect('retention routes and runs', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.http'))
  const verifier = parseVerifierKey(signer.verifierKey)
  const dir = mkdtempSync(join(tmpdir(), 'audited-http-archive-'))
  let sealer: Sealer
  let editor: string
  const put = async (body: unknown, token = f.adminToken) => {
    const res = await f.app.inject({
      method: 'PUT',
      url: '/api/v1/retention',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    })
    return { status: res.statusCode, body: res.json() }
  }
  /** Every event of the tenant, once all are sealed (so the feed shows each of them). */
  const all = async (): Promise<ChangeEvent[]> => {
    await sealAll(sealer, f.db, f.tenantId)
    return (await f.auditor.feed.read({ tenantId: f.tenantId, limit: 1000 })).events
  }
  const run = async (dryRun = false) => {
    await sealAll(sealer, f.db, f.tenantId)
    const [result] = await runRetention({ store: f, signer, archiveDir: dir, tenantId: f.tenantId, dryRun })
    return result!
  }

  before(async () => {
    sealer = startSealer({ db: f.db, auditor: f.auditor, signer })
    editor = await apiToken(f, f.tenantId, 'editor')
    const type = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'note', name: 'Note', fields: [{ name: 'title', type: 'string' }] },
    })
    assert.equal(type.status, 201)
  })
  after(async () => {
    await sealer.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('only admins read or change the policy and the holds', async () => {
    for (const role of ['editor', 'viewer', 'auditor'] as const) {
      const token = await apiToken(f, f.tenantId, role)
      assert.equal((await f.call('GET', '/api/v1/retention', { token })).status, 403, role)
      assert.equal((await put({ keepDays: 1 }, token)).status, 403, role)
      assert.equal((await f.call('GET', '/api/v1/legal-holds', { token })).status, 403, role)
      const hold = { scope: 'tenant', reason: 'x' }
      assert.equal((await f.call('POST', '/api/v1/legal-holds', { token, body: hold })).status, 403, role)
    }
    assert.equal((await f.call('GET', '/api/v1/retention', { token: null })).status, 401)
  })

  it('no policy: 404, and a run purges nothing', async () => {
    const res = await f.call('GET', '/api/v1/retention')
    assert.equal(res.status, 404)
    assert.match(res.body.error.message, /ever purged/)
    const before = (await all()).length
    const result = await run()
    assert.equal(result.policy, null)
    assert.equal(result.report, null)
    assert.equal((await all()).length, before)
  })

  it('bad policies and holds are 400 and change nothing', async () => {
    const events = (await all()).length
    for (const body of [
      {},
      { keepDays: -1 },
      { keepDays: 36_501 },
      { keepDays: 1.5 },
      { keepDays: '7' },
      { keepDays: 7, archive: 'yes' },
      { keepDays: 7, tables: { 'no-such table': { keepDays: 1 } } },
      { keepDays: 7, tables: { entries: { keepDays: -1 } } },
      { keepDays: 7, tables: { entries: { keepDays: 1, extra: 1 } } },
      { keepDays: 7, tables: { entries: 3 } },
      { keepDays: 7, other: true },
    ]) {
      const res = await put(body)
      assert.equal(res.status, 400, JSON.stringify(body))
      assert.equal(res.body.error.code, 'validation')
    }
    for (const body of [
      { reason: 'x' },
      { scope: 'everything', reason: 'x' },
      { scope: 'tenant', actorId: 'u', reason: 'x' },
      { scope: 'record', table: 'entries', reason: 'x' },
      { scope: 'record', recordId: '1', reason: 'x' },
      { scope: 'record', table: 'not a table', recordId: '1', reason: 'x' },
      { scope: 'actor', reason: 'x' },
      { scope: 'actor', actorId: 'u', table: 'entries', reason: 'x' },
      { scope: 'actor', actorId: 'u', reason: '   ' },
      { scope: 'actor', actorId: 'u' },
    ]) {
      const res = await f.call('POST', '/api/v1/legal-holds', { body })
      assert.equal(res.status, 400, JSON.stringify(body))
    }
    assert.equal((await f.call('GET', '/api/v1/retention')).status, 404)
    assert.deepEqual((await f.call('GET', '/api/v1/legal-holds')).body.items, [])
    assert.equal((await all()).length, events, 'no event was written')
  })

  it('a policy is an audited resource: PUT creates, then updates, GET answers it', async () => {
    const long = { keepDays: 36_500, archive: true, tables: {} }
    assert.deepEqual((await put({ keepDays: 36_500 })).body, long, 'archive defaults to true')
    const set = { keepDays: 30, archive: false, tables: { entries: { keepDays: 7 } } }
    assert.deepEqual((await put(set)).body, set)
    assert.deepEqual((await f.call('GET', '/api/v1/retention')).body, set)
    const events = (await all()).filter((e) => e.table === 'retention_policies')
    assert.deepEqual(
      events.map((e) => [e.action, e.recordId]),
      [
        ['create', f.tenantId],
        ['update', f.tenantId],
      ],
    )
    const history = await f.call('GET', `/api/v1/audit/history/retention_policies/${f.tenantId}`)
    assert.equal(history.status, 200, JSON.stringify(history.body))
  })

  const writeNotes = async (n: number, token = f.adminToken) => {
    const ids: string[] = []
    for (let i = 0; i < n; i += 1) {
      const res = await f.call('POST', '/api/v1/entries/note', { token, body: { data: { title: `n${i}` } } })
      assert.equal(res.status, 201, JSON.stringify(res.body))
      ids.push(res.body.id)
    }
    return ids
  }

  it('a record hold and an actor hold keep exactly what they cover; the rest is archived and purged', async () => {
    const [kept, other] = await writeNotes(2)
    await f.call('PATCH', `/api/v1/entries/note/${kept}`, { body: { data: { title: 'changed' } } })
    await writeNotes(2, editor)
    const editorActor = (await all()).find(
      (e) => e.actorType === 'api_token' && e.table === 'entries',
    )!.actorId
    assert.equal((await put({ keepDays: 0 })).status, 200)
    const holds = [
      { scope: 'record', table: 'entries', recordId: kept, reason: 'case 12' },
      { scope: 'actor', actorId: editorActor, reason: 'case 13' },
    ]
    for (const body of holds)
      assert.equal((await f.call('POST', '/api/v1/legal-holds', { body })).status, 201)
    const listed = await f.call('GET', '/api/v1/legal-holds')
    assert.deepEqual(
      listed.body.items.map((h: { scope: string; table: string | null }) => [h.scope, h.table]),
      [
        ['record', 'entries'],
        ['actor', null],
      ],
    )
    const covered = (e: ChangeEvent) =>
      (e.table === 'entries' && e.recordId === kept) || e.actorId === editorActor
    const snapshot = await all()
    const result = await run()
    const report = result.report!
    const expectedPurged = snapshot.filter((e) => !covered(e))
    assert.equal(report.purged, expectedPurged.length)
    assert.equal(report.held, snapshot.length - expectedPurged.length)
    const left = await all()
    assert.deepEqual(
      left.filter((e) => e.table !== 'retention_runs').map((e) => e.eventId),
      snapshot.filter(covered).map((e) => e.eventId),
      'exactly the held events are left',
    )
    assert.ok(!left.some((e) => e.recordId === other))
    // One purge event (actor system) names the manifests, which are in ARCHIVE_DIR.
    const purge = left.filter((e) => e.table === 'retention_runs')
    assert.equal(purge.length, 1)
    assert.equal(purge[0]!.action, 'purge')
    assert.equal(purge[0]!.actorType, 'system')
    const segments = purge[0]!.newValues!.segments as { manifest: string; file: string }[]
    assert.ok(segments.length >= 1)
    for (const s of segments) {
      assert.ok(existsSync(join(dir, s.manifest)), s.manifest)
      assert.ok(existsSync(join(dir, s.file)), s.file)
    }
    // The purged events' proofs still come from the log; the log and the archive verify.
    const proofs = new LogProofs(f.db)
    for (const e of expectedPurged.slice(0, 5)) {
      assert.equal((await proofs.event(e.eventId, f.tenantId)).eventId, e.eventId)
      // …and over HTTP: the proof route answers for a purged event, from its kept leaf.
      const res = await f.call('GET', `/api/v1/audit/events/${e.eventId}/proof`)
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.equal(res.body.eventId, e.eventId)
    }
    await sealer.flush()
    assert.deepEqual((await verifyLogs({ db: f.db, auditor: f.auditor, verifier })).findings, [])
    const archived = await verifyArchive({ db: f.db, verifier, dir })
    assert.deepEqual(archived.findings, [])
    assert.equal(archived.events, expectedPurged.length)
  })

  it('released, the holds no longer keep anything; a dry run first changes nothing', async () => {
    const heldIds = (await all()).filter((e) => e.table !== 'retention_runs').map((e) => e.eventId)
    const holds = (await f.call('GET', '/api/v1/legal-holds')).body.items as { id: string }[]
    for (const h of holds) assert.equal((await f.call('DELETE', `/api/v1/legal-holds/${h.id}`)).status, 204)
    assert.equal((await f.call('DELETE', `/api/v1/legal-holds/${holds[0]!.id}`)).status, 404)
    const files = readdirSync(dir, { recursive: true }).length
    const count = (await all()).length
    const dry = await run(true)
    assert.ok(dry.report!.due >= heldIds.length)
    assert.equal(dry.report!.purged, 0)
    assert.equal(dry.runId, null)
    assert.equal((await all()).length, count)
    assert.equal(readdirSync(dir, { recursive: true }).length, files)
    const result = await run()
    assert.equal(result.report!.held, 0)
    const left = new Set((await all()).map((e) => e.eventId))
    assert.ok(
      heldIds.every((id) => !left.has(id)),
      'every formerly held event is purged',
    )
  })

  it('a tenant hold keeps everything; a table keepDays purges only that table; no archive still signs', async () => {
    await writeNotes(2)
    const hold = await f.call('POST', '/api/v1/legal-holds', { body: { scope: 'tenant', reason: 'audit' } })
    const count = (await all()).length
    const held = await run()
    assert.equal(held.tenantHeld, true)
    assert.equal((await all()).length, count)
    assert.equal((await f.call('DELETE', `/api/v1/legal-holds/${hold.body.id}`)).status, 204)
    await put({ keepDays: 36_500, archive: false, tables: { entries: { keepDays: 0 } } })
    const snapshot = await all()
    const result = await run()
    const purged = new Set(snapshot.map((e) => e.eventId))
    for (const e of await all()) purged.delete(e.eventId)
    assert.ok(purged.size > 0)
    assert.ok(
      snapshot.filter((e) => purged.has(e.eventId)).every((e) => e.table === 'entries'),
      'only entries events went',
    )
    assert.equal(
      snapshot.filter((e) => e.table === 'entries').length,
      purged.size,
      'every entries event went',
    )
    assert.ok(result.report!.segments.every((s) => s.file === null && s.manifest === null))
    await sealer.flush()
    assert.deepEqual((await verifyLogs({ db: f.db, auditor: f.auditor, verifier })).findings, [])
    assert.deepEqual((await verifyArchive({ db: f.db, verifier, dir })).findings, [])
  })

  it('serve: RETENTION_INTERVAL_MS is off by default; set, the schedule runs retention', async () => {
    assert.deepEqual(retentionSettings({}), { intervalMs: 0, archiveDir: './data/archive' })
    assert.equal(loadConfig({}).retention?.intervalMs, 0)
    assert.throws(() => retentionSettings({ RETENTION_INTERVAL_MS: '10' }), /RETENTION_INTERVAL_MS/)
    assert.equal(startRetention(retentionSettings({}), signer, f, f.app.log), undefined)
    let done: (r: TenantRetention[]) => void = () => {}
    const ran = new Promise<TenantRetention[]>((resolve) => {
      done = resolve
    })
    const { scheduleRetention } = await import('../packages/cms/src/cms/retention-schedule.js')
    const schedule = scheduleRetention({ store: f, signer, archiveDir: dir, intervalMs: 10, onRun: done })
    const alive = setInterval(() => {}, 1000) // the schedule's timer is unref'd
    try {
      const results = await ran
      assert.ok(results.some((r) => r.tenantId === f.tenantId && r.policy !== null))
    } finally {
      clearInterval(alive)
      await schedule.stop()
    }
  })
})
