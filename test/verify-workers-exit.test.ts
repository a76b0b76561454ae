/**
 * `verifyLogs` with leaf workers (SQLite) in a process that has nothing else to keep it
 * alive, as the `audited verify` CLI is: when the run fails while pages are still being read
 * by the workers, the failure must reach the caller — closing the workers must not let the
 * process end first with exit code 0 and no word (found by review: a worker's last answer
 * unref'd it while it was being closed).
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import {
  createAuditor,
  generateSigningKey,
  migrate,
  openDatabase,
  signerFromKey,
  startSealer,
} from '../packages/audited/src/index.js'
import { createTestTables, ctx, newId, posts } from './setup.js'

const dir = mkdtempSync(join(tmpdir(), 'audited-verify-exit-'))
const file = join(dir, 'log.db')
const signer = signerFromKey(generateSigningKey('audited.test'))
const src = (p: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', p)).href)

before(async () => {
  const db = await openDatabase(`sqlite:${file}`)
  await migrate(db)
  await createTestTables(db)
  const auditor = createAuditor({ db })
  // Four pages of 1,000: several are in the workers' hands when the first one fails.
  for (let i = 0; i < 4_000; i += 500)
    await auditor.createMany(
      posts,
      Array.from({ length: 500 }, (_, n) => ({ id: newId(), title: `post ${i + n}` })),
      ctx,
    )
  const sealer = startSealer({ db, auditor, signer, worker: false })
  await sealer.flush()
  await sealer.stop()
  await auditor.close()
  await db.close()
})

after(() => rmSync(dir, { recursive: true, force: true }))

it('a verify that fails with pages in the workers rejects, and the process says so', () => {
  const script = join(dir, 'verify.mts')
  writeFileSync(
    script,
    [
      `import { createAuditor, openDatabase, verifyLogs } from ${src('packages/audited/src/index.js')}`,
      `import { parseVerifierKey } from ${src('packages/audited/src/proofs.js')}`,
      `const db = await openDatabase(${JSON.stringify(`sqlite:${file}`)})`,
      'const auditor = createAuditor({ db })',
      `const verifier = parseVerifierKey(${JSON.stringify(signer.verifierKey)})`,
      'verifyLogs({ db, auditor, verifier, workers: true, onProgress: () => { throw new Error("stopped by the test") } }).then(',
      '  (r) => { console.log("resolved", r.events); process.exitCode = 3 },',
      '  (e) => { console.log("rejected:", e.message); process.exitCode = 1 },',
      ')',
    ].join('\n'),
  )
  const r = spawnSync(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(r.stdout.trim(), 'rejected: stopped by the test', `stdout: ${r.stdout} stderr: ${r.stderr}`)
  assert.equal(r.status, 1)
})
