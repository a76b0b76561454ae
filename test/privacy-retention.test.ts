/**
 * Retention of personal data, on every dialect (regression): purge reads the events in
 * their stored form — the form their leaves hash — so events with personal values are
 * archived (not refused as "no longer hashing to their leaf"), and the archive holds their
 * ciphertext, never the plaintext: an erasure reaches archived copies too.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import {
  createAuditor,
  defineEntity,
  generateSigningKey,
  purgeExpired,
  signerFromKey,
  startSealer,
} from '../packages/audited/src/index.js'
import { sealAll } from './seal-all.js'
import { ctx, forEachDialect, newId } from './setup.js'

const members = defineEntity({ table: 'members', tenantColumn: 'tenant_id', personal: ['email'] })

forEachDialect('retention of personal data', (f) => {
  const dir = mkdtempSync(join(tmpdir(), 'audited-privacy-archive-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('archives events with personal values in their stored, encrypted form', async () => {
    await f.db.kysely.schema
      .createTable('members')
      .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('email', 'varchar(200)')
      .execute()
    const auditor = createAuditor({
      db: f.db,
      personalData: { masterKey: randomBytes(32).toString('base64') },
    })
    const tenant = { ...ctx, tenantId: `pr-${newId()}` }
    const email = `m-${newId().toLowerCase()}@example.test`
    await auditor.create(members, { id: newId(), email }, tenant)
    await auditor.create(members, { id: newId(), email: `2${email}` }, tenant)
    const signer = signerFromKey(generateSigningKey('audited.privacy'))
    const sealer = startSealer({ db: f.db, auditor, signer, consumer: `s-${newId()}` })
    await sealAll(sealer, f.db, tenant.tenantId)
    await sealer.stop()
    const report = await purgeExpired({
      db: f.db,
      auditor,
      signer,
      tenantId: tenant.tenantId,
      before: new Date(Date.now() + 1000),
      archiveDir: dir,
    })
    assert.deepEqual([report.refusedCount, report.purged], [0, 2], JSON.stringify(report.refused))
    const segment = readdirSync(dir, { recursive: true }).find((p) => String(p).endsWith('.ndjson.gz'))
    assert.ok(segment !== undefined, 'a segment was written')
    const text = gunzipSync(readFileSync(join(dir, String(segment)))).toString('utf8')
    assert.ok(!text.includes(email), 'no plaintext in the archive')
    assert.match(text, /enc:v1:/)
    await auditor.close()
  })
})
