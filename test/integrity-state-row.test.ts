/**
 * `verify` against a tampered or garbled bookkeeping row of a log (`audited_logs`: size,
 * right edge, last sealed point — the sealer's own state, signed by nothing). On every
 * dialect each change is reported as a finding, never a crash and never a run that does
 * not end: a right edge that is not hex, not the tree's or of the wrong length, or a tenant
 * that is not the log's (`state_mismatch`), a size far
 * beyond the stored leaves (`truncated`, read without walking the empty index range), a
 * last sealed point that is not one (`state_mismatch`), and on SQLite, whose typed columns
 * take any text, a size that is not a number.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import type { Kysely } from 'kysely'
import {
  generateSigningKey,
  parseVerifierKey,
  signerFromKey,
  startSealer,
  type VerifyReport,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { sealAll } from './seal-all.js'
import { ctx, forEachDialect, newId, posts } from './setup.js'

// biome-ignore lint/suspicious/noExplicitAny: the test edits the library's tables directly.
type Db = Kysely<any>

const CASES = [
  'untouched',
  'frontierNotHex',
  'frontierOther',
  'frontierShort',
  'tenantOther',
  'hugeSize',
  'lastGarbled',
  'sizeText',
] as const
type Case = (typeof CASES)[number]

/** Ends within `ms` or fails: a verify that walks an endless range must not hang the file. */
async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`verify did not end within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

forEachDialect('verify: the log state row', (f) => {
  const signer = signerFromKey(generateSigningKey('audited.test'))
  const verifier = parseVerifierKey(signer.verifierKey)
  const tenant = Object.fromEntries(CASES.map((c) => [c, `${c}-${newId()}`])) as Record<Case, string>
  const k = () => f.db.kysely as Db
  const verify = (c: Case): Promise<VerifyReport> =>
    within(verifyLogs({ db: f.db, auditor: f.auditor, verifier, tenantId: tenant[c] }), 60_000)
  const setState = (c: Case, set: Record<string, unknown>) =>
    k().updateTable('audited_logs').set(set).where('log_key', '=', tenant[c]).execute()
  const kinds = (r: VerifyReport) => [...new Set(r.findings.map((x) => x.kind))].sort()

  before(async () => {
    const sealer = startSealer({ db: f.db, auditor: f.auditor, signer, checkpointEvents: 4 })
    try {
      for (const c of CASES) {
        for (let i = 0; i < 9; i += 1)
          await f.auditor.create(
            posts,
            { id: newId(), title: `${c} ${newId()}` },
            { ...ctx, tenantId: tenant[c] },
          )
        await sealAll(sealer, f.db, tenant[c])
      }
    } finally {
      await sealer.stop()
    }
  })

  it('an untouched log is clean', async () => {
    const r = await verify('untouched')
    assert.deepEqual(r.findings, [])
    assert.equal(r.events, 9)
  })

  it('a right edge that is not hex is a state mismatch, the events still judged', async () => {
    await setState('frontierNotHex', { frontier: 'zz,not-hex' })
    const r = await verify('frontierNotHex')
    assert.deepEqual(kinds(r), ['state_mismatch'], JSON.stringify(r.findings))
    assert.equal(r.events, 9)
  })

  it('a right edge of other valid hashes is a state mismatch', async () => {
    const row = await k()
      .selectFrom('audited_logs')
      .select('frontier')
      .where('log_key', '=', tenant.frontierOther)
      .executeTakeFirstOrThrow()
    const hashes = String(row.frontier).split(',')
    hashes[0] = 'ab'.repeat(32)
    await setState('frontierOther', { frontier: hashes.join(',') })
    const r = await verify('frontierOther')
    assert.deepEqual(kinds(r), ['state_mismatch'], JSON.stringify(r.findings))
  })

  it('a right edge with the wrong number of hashes for the size is a state mismatch', async () => {
    // 9 leaves: perfect subtrees of 8 and 1, so two hashes; one is not a right edge of 9.
    await setState('frontierShort', { frontier: 'ab'.repeat(32) })
    const r = await verify('frontierShort')
    assert.deepEqual(kinds(r), ['state_mismatch'], JSON.stringify(r.findings))
  })

  it('a state row naming another tenant is a state mismatch', async () => {
    await setState('tenantOther', { tenant_id: tenant.untouched })
    const r = await verify('tenantOther')
    assert.deepEqual(kinds(r), ['state_mismatch'], JSON.stringify(r.findings))
  })

  it('a size far beyond the stored leaves ends and is a truncated tail', async () => {
    await setState('hugeSize', { size: 1_000_000_000_000 })
    const r = await verify('hugeSize')
    assert.ok(kinds(r).includes('truncated'), JSON.stringify(r.findings))
    assert.ok(
      r.findings.some((x) => x.kind === 'truncated' && x.treeSize === 1_000_000_000_000),
      JSON.stringify(r.findings),
    )
  })

  it('a last sealed point that is not one is a state mismatch, not a crash', async () => {
    await setState('lastGarbled', { last_position: 'garbage' })
    const r = await verify('lastGarbled')
    assert.ok(kinds(r).includes('state_mismatch'), JSON.stringify(r.findings))
  })

  it('a size that is not a number (SQLite keeps the text) is a state mismatch, not a hang', async (t) => {
    const refused = await setState('sizeText', { size: 'many' }).then(
      () => false,
      () => true,
    )
    if (refused) return t.skip('this database refuses text in a bigint column')
    const stored = await k()
      .selectFrom('audited_logs')
      .select('size')
      .where('log_key', '=', tenant.sizeText)
      .executeTakeFirstOrThrow()
    if (typeof stored.size === 'number' || /^\d+$/.test(String(stored.size)))
      return t.skip(`this database stored the text as the number ${String(stored.size)}`)
    const r = await verify('sizeText')
    assert.ok(kinds(r).includes('state_mismatch'), JSON.stringify(r.findings))
    assert.equal(r.events, 9)
  })
})
