/**
 * R12 (CLI) and R7 (CLI export): the CLI as a new user meets it. Clear messages naming the
 * option the user typed, a non-zero exit whenever nothing useful happened, and an export
 * whose progress and failures tell the truth.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { tenants } from '../packages/cms/src/cms/entities.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { BOUNDED } from './child-support.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))

interface Failure {
  code?: number
  stdout?: string
  stderr?: string
}

/** Runs the CLI expecting a failure; returns its exit code and output. */
async function fails(run: Promise<unknown>): Promise<Required<Failure>> {
  try {
    await run
  } catch (e) {
    const f = e as Failure
    return { code: f.code ?? 0, stdout: String(f.stdout ?? ''), stderr: String(f.stderr ?? '') }
  }
  assert.fail('the command succeeded')
}

/** A clean one-line error: no stack trace, no driver error class. */
function assertCleanError(stderr: string): void {
  assert.match(stderr, /^audited: /m)
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace')
  assert.doesNotMatch(stderr, /SqliteError|QueryFailedError|ER_|errno/i)
}

for (const d of DIALECTS) {
  describe(`R12/R7: CLI [${d.name}]`, { skip: d.skip }, () => {
    const drops: (() => Promise<void>)[] = []
    let env: NodeJS.ProcessEnv
    let libraryEnv: NodeJS.ProcessEnv
    let middle: Date
    let before2: number
    const dir = mkdtempSync(join(tmpdir(), 'audited-cli-r12-'))
    const cli = (e: NodeJS.ProcessEnv, ...args: string[]) =>
      exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, ...args], {
        env: e,
        ...BOUNDED,
      })

    before(async () => {
      const cms = await d.create()
      drops.push(cms.drop)
      env = { ...process.env, DATABASE_URL: cms.url, LOG_LEVEL: 'silent' }
      const db = await openDatabase(cms.url)
      try {
        await migrate(db, CMS_MIGRATIONS)
        const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
        const write = (name: string) =>
          auditor.create(
            tenants,
            { id: newRecordId(), name, limits: null, created_at: new Date(), updated_at: new Date() },
            { tenantId: 'cli', actorId: 'test', actorType: 'system' },
          )
        for (const n of ['a', 'b', 'c']) await write(`early-${n}`)
        before2 = 3
        await sleep(30)
        middle = new Date()
        await sleep(30)
        for (const n of ['d', 'e']) await write(`late-${n}`)
      } finally {
        await db.close()
      }
      const lib = await d.create()
      drops.push(lib.drop)
      libraryEnv = { ...process.env, DATABASE_URL: lib.url, LOG_LEVEL: 'silent' }
      const libDb = await openDatabase(lib.url)
      try {
        await migrate(libDb) // the library's tables only: no CMS
      } finally {
        await libDb.close()
      }
    })
    after(async () => {
      for (const drop of drops) await drop()
      rmSync(dir, { recursive: true, force: true })
    })

    it('R12: export --out into a missing directory fails first, clearly, with no progress bar', async () => {
      const f = await fails(
        cli(env, 'export', '--format', 'ndjson', '--out', join(dir, 'missing', 'x.ndjson')),
      )
      assert.notEqual(f.code, 0)
      assertCleanError(f.stderr)
      assert.match(f.stderr, /x\.ndjson/)
      assert.match(f.stderr, /directory does not exist/)
      assert.doesNotMatch(f.stderr, /export \[/, 'no progress bar was drawn')
    })

    it('R12: --since with a bad date names --since, not an internal field', async () => {
      const f = await fails(cli(env, 'events', '--since', 'yesterday'))
      assert.equal(f.code, 2)
      assertCleanError(f.stderr)
      assert.match(f.stderr, /--since/)
      assert.doesNotMatch(f.stderr, /\bfrom\b/)
      const g = await fails(
        cli(env, 'export', '--format', 'csv', '--out', join(dir, 'y.csv'), '--to', 'soon'),
      )
      assert.equal(g.code, 2)
      assert.match(g.stderr, /--to/)
    })

    it('R12: history of an unknown id says so and exits non-zero', async () => {
      const f = await fails(cli(env, 'history', 'tenants', newRecordId()))
      assert.notEqual(f.code, 0)
      assertCleanError(f.stderr)
      assert.match(f.stderr, /no events|not found/i)
      assert.equal(f.stdout, '')
    })

    it('R12: events --tenant on a library-only database is a clear message, not a driver error', async () => {
      const f = await fails(cli(libraryEnv, 'events', '--tenant', 'acme'))
      assert.notEqual(f.code, 0)
      assertCleanError(f.stderr)
      assert.match(f.stderr, /--tenant/)
      assert.match(f.stderr, /CMS/)
      // Without --tenant the library's events are readable.
      assert.equal((await cli(libraryEnv, 'events')).stdout, '')
    })

    it("R7: the export's progress total follows --from / --to", async () => {
      const late = join(dir, 'late.ndjson')
      const a = await cli(env, 'export', '--format', 'ndjson', '--out', late, '--from', middle.toISOString())
      assert.equal(readFileSync(late, 'utf8').trim().split('\n').length, 2)
      assert.match(a.stderr, /100% 2\/2 events/)
      assert.doesNotMatch(a.stderr, /\/5 events/)
      const early = join(dir, 'early.ndjson')
      const b = await cli(env, 'export', '--format', 'ndjson', '--out', early, '--to', middle.toISOString())
      assert.equal(readFileSync(early, 'utf8').trim().split('\n').length, before2)
      assert.match(b.stderr, /100% 3\/3 events/)
    })

    it('R7: a write error during the export is a clear error with exit code 1, not a crash', async () => {
      const f = await fails(cli(env, 'export', '--format', 'ndjson', '--out', '/dev/full'))
      assert.equal(f.code, 1)
      assertCleanError(f.stderr)
      assert.match(f.stderr, /\/dev\/full/)
    })
  })
}
