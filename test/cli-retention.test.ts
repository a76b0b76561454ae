/**
 * `audited retention run` as a user runs it (a child process, settings from the
 * environment), on every dialect: a dry run reports and changes nothing, a run archives to
 * ARCHIVE_DIR and purges with the checkpoint key, a run without a key is a clear error; the
 * `verify --archive` hook checks the directory it wrote.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import {
  type AuditedDatabase,
  type Auditor,
  createAuditor,
  generateSigningKey,
  migrate,
  openDatabase,
  parseVerifierKey,
  signerFromKey,
  startSealer,
} from '../packages/audited/src/index.js'
import { verifyArchiveDir } from '../packages/cms/src/cli/retention-command.js'
import { bootstrap } from '../packages/cms/src/cms/bootstrap.js'
import { operatorCaller } from '../packages/cms/src/cms/caller.js'
import { putPolicy } from '../packages/cms/src/cms/retention-operations.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { BOUNDED } from './child-support.js'
import { sealAll } from './seal-all.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))

for (const d of DIALECTS) {
  describe(`cli retention [${d.name}]`, { skip: d.skip }, () => {
    const key = generateSigningKey('audited.cli')
    const signer = signerFromKey(key)
    const dir = mkdtempSync(join(tmpdir(), 'audited-cli-retention-'))
    const archive = join(dir, 'archive')
    let drop: () => Promise<void>
    let env: NodeJS.ProcessEnv
    let db: AuditedDatabase
    let auditor: Auditor
    let tenantId: string
    const cli = (extra: NodeJS.ProcessEnv, ...args: string[]) =>
      exec(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, ...args], {
        env: { ...env, ...extra },
        ...BOUNDED,
      })
    const count = async () =>
      Number(
        (
          await db.readKysely
            .selectFrom('change_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('tenant_id', '=', tenantId)
            .executeTakeFirstOrThrow()
        ).n,
      )

    before(async () => {
      const created = await d.create()
      drop = created.drop
      env = {
        ...process.env,
        DATABASE_URL: created.url,
        LOG_LEVEL: 'silent',
        DATA_DIR: join(dir, 'no-key-here'),
      }
      db = await openDatabase(created.url)
      await migrate(db, CMS_MIGRATIONS)
      auditor = createAuditor({ personalData: PERSONAL_DATA, db })
      tenantId = (await bootstrap(db, auditor, { email: 'r@example.test', password: 'long enough pw' }))!
        .tenantId
      await putPolicy({ db, auditor }, operatorCaller(tenantId, 'cli', 'test'), { keepDays: 0 })
      const sealer = startSealer({ db, auditor, signer })
      await sealAll(sealer, db, tenantId)
      await sealer.stop()
    })
    after(async () => {
      await auditor.close()
      await db.close()
      await drop()
      rmSync(dir, { recursive: true, force: true })
    })

    it('a dry run reports what is due and changes nothing; a run needs the key', async () => {
      const before = await count()
      const dry = await cli({ ARCHIVE_DIR: archive }, 'retention', 'run', '--dry-run', '--tenant', 'default')
      const line = JSON.parse(dry.stdout.trim())
      assert.equal(line.tenantId, tenantId)
      assert.equal(line.dryRun, true)
      assert.equal(line.due, before)
      assert.equal(line.purged, 0)
      assert.match(dry.stderr, /would purge/)
      assert.equal(await count(), before)
      assert.ok(!existsSync(archive))
      await assert.rejects(
        cli({ ARCHIVE_DIR: archive }, 'retention', 'run'),
        (e: { code?: number; stderr?: string }) => {
          assert.equal(e.code, 2)
          assert.match(String(e.stderr), /CHECKPOINT_SIGNING_KEY/)
          return true
        },
      )
      assert.equal(await count(), before)
    })

    it('a run archives and purges; the archive verifies', async () => {
      const before = await count()
      const run = await cli({ ARCHIVE_DIR: archive, CHECKPOINT_SIGNING_KEY: key }, 'retention', 'run')
      const line = JSON.parse(run.stdout.trim())
      assert.equal(line.purged, before)
      assert.equal(typeof line.runId, 'string')
      assert.match(run.stderr, new RegExp(`tenant ${tenantId}: ${before} due, purged ${before}`))
      assert.equal(await count(), 1, 'only the run record’s own purge event is left')
      for (const s of line.segments)
        assert.ok(existsSync(join(archive, s.file)) && existsSync(join(archive, s.manifest)))
      const out = new PassThrough()
      let text = ''
      out.on('data', (b) => {
        text += String(b)
      })
      const c = { db, auditor, out, err: new PassThrough(), signal: new AbortController().signal }
      assert.equal(await verifyArchiveDir(c, parseVerifierKey(signer.verifierKey), archive, {}), 0)
      assert.match(text, new RegExp(`${line.segments.length} segments, ${before} events, clean`))
      const other = parseVerifierKey(signerFromKey(generateSigningKey('audited.cli')).verifierKey)
      assert.equal(await verifyArchiveDir(c, other, archive, {}), 1, 'another key: findings')

      // The same as an operator runs it: `audited verify --archive DIR`, the log and the archive.
      const clean = await cli({}, 'verify', '--archive', archive, '--key', signer.verifierKey)
      assert.match(clean.stdout, /Clean:/)
      assert.match(clean.stdout, new RegExp(`${line.segments.length} segments, ${before} events, clean`))
      const file = join(archive, line.segments[0].file)
      const bytes = readFileSync(file)
      const middle = bytes.length >> 1
      bytes[middle] = bytes[middle]! ^ 0xff
      writeFileSync(file, bytes)
      await assert.rejects(
        cli({}, 'verify', '--archive', archive, '--key', signer.verifierKey),
        (e: unknown) => {
          const x = e as { code?: number; stdout?: string }
          assert.equal(x.code, 1, 'a changed segment file is a finding')
          assert.match(
            String(x.stdout),
            /^file_hash +segment=\S+ \S+\.ndjson\.gz: its SHA-256 is not the one its manifest signs$/m,
          )
          return true
        },
      )
    })
  })
}
