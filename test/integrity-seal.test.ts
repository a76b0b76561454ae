/**
 * The sealer on every dialect: events of several tenants become leaves of their tenant's
 * log in feed order, checkpoints are signed C2SP notes, every event's inclusion proof and
 * every pair of checkpoints' consistency proof verify with the portable functions, and an
 * untouched log verifies clean.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { FEED_START } from '../packages/audited/src/feed/feed-cursor.js'
import { FeedReader } from '../packages/audited/src/feed/feed-reader.js'
import {
  createAuditor,
  fromHex,
  generateSigningKey,
  LogProofs,
  migrate,
  openCheckpoint,
  openDatabase,
  parseVerifierKey,
  type SealedCheckpoint,
  type Sealer,
  signerFromKey,
  startSealer,
  verifyConsistency,
  verifyLogs,
} from '../packages/audited/src/index.js'
import {
  inThreadLeafSource,
  WORKER_BY_DEFAULT,
  workerLeafSource,
} from '../packages/audited/src/integrity/leaf-source.js'
import { checkInclusion } from './seal-all.js'
import { createTestTables, ctx, forEachDialect, newId, posts } from './setup.js'

forEachDialect('sealing the tenant logs', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.test'))
  const verifier = parseVerifierKey(signer.verifierKey)
  const published: SealedCheckpoint[] = []
  let sealer: Sealer
  const tenants = [`a-${newId()}`, `b-${newId()}`]

  before(async () => {
    sealer = startSealer({
      db: f.db,
      auditor: f.auditor,
      signer,
      checkpointEvents: 7,
      worker: true, // the leaf worker's hashes, checked by every test below
      onCheckpoint: (c) => {
        published.push(c)
      },
    })
    for (let round = 0; round < 5; round += 1) {
      for (const tenantId of tenants) {
        await f.auditor.createMany(
          posts,
          Array.from({ length: 3 + round }, () => ({ id: newId(), title: `p ${newId()}` })),
          { ...ctx, tenantId },
        )
      }
      await f.auditor.create(posts, { id: newId(), title: `untenanted ${newId()}` }, ctx)
      await sealer.flush() // at least one checkpoint per round
    }
  })
  after(() => sealer.stop())

  it('proves every event of each tenant against the newest checkpoint, and only in its tenant', async () => {
    const proofs = new LogProofs(f.db)
    for (const tenantId of tenants) {
      const { events } = await f.auditor.feed.read({ tenantId, limit: 1000 })
      assert.equal(events.length, 3 + 4 + 5 + 6 + 7)
      for (const [i, e] of events.entries()) {
        const { proof: p, facts, included } = await checkInclusion(proofs, e, tenantId, verifier)
        assert.equal(p.leafIndex, i, 'leaves in feed order')
        assert.equal(facts.tenantId, tenantId)
        assert.equal(facts.treeSize, p.treeSize)
        assert.ok(included, `event ${i}`)
      }
      await assert.rejects(
        proofs.event(events[0]!.eventId, tenants.find((t) => t !== tenantId)!),
        (e: unknown) => {
          return (e as { code?: string }).code === 'not_found'
        },
      )
    }
  })

  it('signs checkpoints every N events, publishes each, and proves each consistent with the next', async () => {
    const proofs = new LogProofs(f.db)
    for (const tenantId of tenants) {
      const cps = await proofs.checkpoints(tenantId, 0, 100)
      assert.ok(cps.length >= 5, `${cps.length} checkpoints`)
      assert.deepEqual(
        published.filter((c) => c.tenantId === tenantId).map((c) => c.treeSize),
        cps.map((c) => c.treeSize),
        'every checkpoint published once',
      )
      for (let i = 1; i < cps.length; i += 1) {
        const a = openCheckpoint(cps[i - 1]!.note, verifier)
        const b = openCheckpoint(cps[i]!.note, verifier)
        assert.equal(b.previousSize, a.treeSize, 'checkpoints chain')
        const { proof } = await proofs.consistency(tenantId, a.treeSize, b.treeSize)
        assert.ok(
          verifyConsistency(
            a.treeSize,
            b.treeSize,
            proof.map(fromHex),
            fromHex(a.rootHash),
            fromHex(b.rootHash),
          ),
        )
      }
      await assert.rejects(proofs.consistency(tenantId, 3, 100_000), /above the newest checkpoint/)
      await assert.rejects(proofs.consistency(tenantId, 'x', 2), /tree size/)
    }
  })

  it('verifies an untouched log clean, against its own witnessed checkpoints', async () => {
    const report = await verifyLogs({
      db: f.db,
      auditor: f.auditor,
      verifier,
      witnessed: published.map((c) => c.note),
    })
    assert.deepEqual(report.findings, [])
    assert.ok(report.clean)
    assert.ok(report.events >= 2 * 25 + 5)
  })

  it('reports a foreign key as a bad signature on every checkpoint', async () => {
    const other = parseVerifierKey(signerFromKey(generateSigningKey('audited.test')).verifierKey)
    const report = await verifyLogs({ db: f.db, auditor: f.auditor, verifier: other, tenantId: tenants[0] })
    assert.ok(!report.clean)
    assert.ok(report.findings.length > 0 && report.findings.every((x) => x.kind === 'bad_signature'))
  })
})

forEachDialect('flushing a lingering sealer', (f) => {
  it('seals a small batch at once when flushed, without waiting out its linger', async () => {
    const signer = signerFromKey(generateSigningKey('audited.test'))
    const made: SealedCheckpoint[] = []
    const sealer = startSealer({
      db: f.db,
      auditor: f.auditor,
      signer,
      consumer: `linger-${newId()}`,
      lingerMs: 10_000,
      onCheckpoint: (c) => {
        made.push(c)
      },
    })
    try {
      const tenantId = `linger-${newId()}`
      await sealer.flush()
      await f.auditor.create(posts, { id: newId(), title: 'one' }, { ...ctx, tenantId })
      // Without the cut the batch of one waits 10 s and this flush times out.
      await sealer.flush(5_000)
      const mine = made.filter((c) => c.tenantId === tenantId)
      assert.equal(mine.length, 1)
      assert.equal(mine[0]!.treeSize, 1)
    } finally {
      await sealer.stop()
    }
  })
})

forEachDialect('sealer options', (f) => {
  it('refuses a lingerMs that is not a number of 0 to 10000 ms, naming the field; 0 is accepted', async () => {
    const signer = signerFromKey(generateSigningKey('audited.test'))
    for (const lingerMs of [-1, 10_001, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      assert.throws(
        () => startSealer({ db: f.db, auditor: f.auditor, signer, lingerMs, consumer: `bad-${newId()}` }),
        (e: unknown) =>
          e instanceof Error &&
          (e as { code?: string }).code === 'validation' &&
          /lingerMs/.test(e.message) &&
          (e as { details?: { field?: string } }).details?.field === 'lingerMs',
        `lingerMs ${String(lingerMs)}`,
      )
    }
    const ok = startSealer({ db: f.db, auditor: f.auditor, signer, lingerMs: 0, consumer: `zero-${newId()}` })
    await ok.stop()
  })
})

forEachDialect('where the sealer hashes', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.test'))
  const verifier = parseVerifierKey(signer.verifierKey)
  const sealAndVerify = async (options: { worker?: boolean }) => {
    const tenantId = `w-${newId()}`
    await f.auditor.createMany(
      posts,
      Array.from({ length: 25 }, () => ({ id: newId(), title: `w ${newId()}` })),
      { ...ctx, tenantId },
    )
    const sealer = startSealer({ db: f.db, auditor: f.auditor, signer, lingerMs: 0, ...options })
    try {
      await sealer.flush(20_000)
    } finally {
      await sealer.stop()
    }
    const report = await verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId })
    assert.deepEqual(report.findings, [])
    assert.equal(report.rechecked, 0, 'every sealed leaf matched the stored event')
    assert.equal(report.logs[0]?.leaves, 25)
    return sealer.threaded
  }

  it('in a worker thread with worker: true; its leaves are those the verifier recomputes', async () => {
    assert.equal(await sealAndVerify({ worker: true }), true)
  })

  it('by default on this thread when the TypeScript sources run (as here), in a worker when built', async () => {
    assert.equal(WORKER_BY_DEFAULT, false, 'these tests run the sources under tsx')
    assert.equal(await sealAndVerify({}), false)
  })

  it('on this thread with worker: false, the same way', async () => {
    assert.equal(await sealAndVerify({ worker: false }), false)
  })
})

it('an in-memory SQLite database, which no worker can open, is sealed on this thread', async () => {
  const db = await openDatabase('sqlite::memory:')
  try {
    await migrate(db)
    await createTestTables(db)
    const auditor = createAuditor({ db })
    await auditor.create(posts, { id: newId(), title: 'in memory' }, { ...ctx, tenantId: 'mem' })
    const signer = signerFromKey(generateSigningKey('audited.test'))
    const sealer = startSealer({ db, auditor, signer, lingerMs: 0, worker: true })
    await sealer.flush(20_000)
    await sealer.stop()
    assert.equal(sealer.threaded, false)
    const report = await verifyLogs({ db, auditor, verifier: parseVerifierKey(signer.verifierKey) })
    assert.equal(report.clean, true)
    assert.equal(report.events, 1)
    await auditor.close()
  } finally {
    await db.close()
  }
})

it('a leaf worker that cannot run hands its reads to this thread and says so', async () => {
  // A worker whose database cannot be opened (here a path in a directory that does not
  // exist; elsewhere a bundle without the worker file, or a connection limit) fails before
  // it ever answered: the source falls back to this thread's reader for good.
  const dir = mkdtempSync(join(tmpdir(), 'audited-worker-'))
  const db = await openDatabase(`sqlite:${join(dir, 'real.db')}`)
  try {
    await migrate(db)
    await createTestTables(db)
    const auditor = createAuditor({ db })
    await auditor.create(posts, { id: newId(), title: 'one' }, { ...ctx, tenantId: 'fallback' })
    const reports: string[] = []
    const source = workerLeafSource(
      { url: `sqlite:${join(dir, 'missing', 'nowhere.db')}`, options: {} },
      () => inThreadLeafSource(new FeedReader({ readKysely: db.readKysely, dialect: db.capabilities })),
      (e) => reports.push(String(e)),
    )
    assert.equal(source.threaded, true)
    const batch = await source.read(FEED_START, 10)
    assert.equal(source.threaded, false, 'now on this thread')
    assert.equal(batch.items.length, 1)
    assert.equal(batch.items[0]!.tenantId, 'fallback')
    assert.equal(reports.length, 1, reports.join('\n'))
    assert.match(reports[0]!, /leaf worker could not run .*sealing on this thread/)
    assert.equal((await source.read(FEED_START, 10)).items.length, 1, 'and stays there')
    assert.equal(reports.length, 1)
    await source.close()
    await auditor.close()
  } finally {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
