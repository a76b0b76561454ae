/**
 * GDPR erasure on every dialect: personal columns are stored encrypted in events under the
 * subject's key; readers see them decrypted; an export returns them; after `erase` the
 * current row is blanked, history reads "[erased]", no plaintext is left in the database
 * (the SQLite file and its WAL scanned byte by byte; every PostgreSQL / MariaDB table
 * dumped), and the sealed log still verifies clean.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { before, it } from 'node:test'
import { sql } from 'kysely'
import {
  type Auditor,
  createAuditor,
  defineEntity,
  ERASED,
  generateSigningKey,
  parseVerifierKey,
  signerFromKey,
  startSealer,
  verifyLogs,
} from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId } from './setup.js'

const people = defineEntity({ table: 'people', tenantColumn: 'tenant_id', personal: ['email', 'name'] })

forEachDialect('personal data and erasure', (f) => {
  let auditor: Auditor
  const mark = newId().toLowerCase()
  const email = `zq-${mark}@example.test`
  const name = `Nm${mark}`
  const renamed = `Rn${mark}`
  const id = newId()
  const tenant = { ...ctx, tenantId: `priv-${newId()}` }

  /** The tenant's three events as stored. On PostgreSQL the feed holds back events while any
   * transaction in the cluster is open (other test files run beside this one): wait for them. */
  const storedEvents = async () => {
    for (let tries = 0; ; tries++) {
      const { events } = await auditor.feed.read({ tenantId: tenant.tenantId })
      if (events.length >= 3 || tries >= 100) return events
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  before(async () => {
    await f.db.kysely.schema
      .createTable('people')
      .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('email', 'varchar(200)')
      .addColumn('name', 'varchar(200)')
      .addColumn('note', 'varchar(200)')
      .execute()
    auditor = createAuditor({ db: f.db, personalData: { masterKey: randomBytes(32).toString('base64') } })
    await auditor.create(people, { id, email, name, note: 'first' }, tenant)
    await auditor.update(people, id, { name: renamed }, tenant)
    await auditor.update(people, id, { note: 'second' }, tenant)
  })

  it('stores personal values encrypted and shows them decrypted to readers', async () => {
    const stored = await storedEvents()
    assert.equal(stored.length, 3)
    assert.ok(!JSON.stringify(stored).includes(mark), 'no plaintext in the stored events')
    assert.match(String(stored[0]!.newValues!.email), /^enc:v1:/)
    const history = (await auditor.events.history(people, id, { tenantId: tenant.tenantId })).events
    assert.equal(history[0]!.newValues!.email, email)
    assert.equal(history[1]!.oldValues!.name, name)
    assert.equal(history[1]!.newValues!.name, renamed)
    assert.equal(history[2]!.newValues!.note, 'second')
    const exported = await auditor.privacy.export(tenant.tenantId, id)
    assert.equal(exported.length, 3)
    assert.ok(JSON.stringify(exported).includes(email))
  })

  it('an update seals a column it left as it was once: the same envelope before and after', async () => {
    const stored = await storedEvents()
    const renaming = stored[1]!
    assert.deepEqual(renaming.changedFields, ['name'])
    assert.equal(renaming.oldValues!.email, renaming.newValues!.email, 'unchanged email: one envelope')
    assert.notEqual(renaming.oldValues!.name, renaming.newValues!.name)
    assert.match(String(renaming.oldValues!.email), /^enc:v1:/)
    const history = (await auditor.events.history(people, id, { tenantId: tenant.tenantId })).events
    assert.equal(history[1]!.oldValues!.email, email)
    assert.equal(history[1]!.newValues!.email, email)
  })

  it('refuses a personal entity on an auditor without a master key', async () => {
    await assert.rejects(f.auditor.create(people, { id: newId(), email: 'x@y.z' }, tenant), /personalData/)
  })

  it('erases: row blanked, history "[erased]", no plaintext left anywhere, log still verifies', async () => {
    const key = generateSigningKey('audited.privacy')
    const sealer = startSealer({ db: f.db, auditor, signer: signerFromKey(key), consumer: `s-${newId()}` })
    await sealer.flush()
    const result = await auditor.privacy.erase(id, [people], tenant)
    assert.deepEqual(result, { rows: 1, keys: 1 })
    await sealer.flush()
    await sealer.stop()
    const row = await f.db.kysely.selectFrom('people').selectAll().where('id', '=', id).executeTakeFirst()
    assert.equal(row?.email, null)
    assert.equal(row?.name, null)
    const history = (await auditor.events.history(people, id, { tenantId: tenant.tenantId })).events
    assert.equal(history.length, 4)
    assert.equal(history.at(-1)!.action, 'erase')
    assert.equal(history[0]!.newValues!.email, ERASED)
    assert.equal(history[1]!.newValues!.name, ERASED)
    assert.equal(history[2]!.newValues!.note, 'second', 'other columns stay readable')

    if (f.name === 'sqlite') {
      const file = f.url.slice('sqlite:'.length)
      for (const path of [file, `${file}-wal`]) {
        if (!existsSync(path)) continue
        const bytes = readFileSync(path)
        for (const secret of [email, name, renamed])
          assert.equal(bytes.indexOf(Buffer.from(secret)), -1, `${secret} in ${path}`)
      }
    } else {
      const tables =
        f.name === 'postgres'
          ? await sql<{
              t: string
            }>`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'`.execute(
              f.db.kysely,
            )
          : await sql<{
              t: string
            }>`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()`.execute(
              f.db.kysely,
            )
      assert.ok(tables.rows.length > 5)
      for (const { t } of tables.rows) {
        const dump = JSON.stringify((await sql.raw(`SELECT * FROM ${t}`).execute(f.db.kysely)).rows)
        for (const secret of [email, name, renamed])
          assert.ok(!dump.includes(secret), `${secret} in table ${t}`)
      }
    }
    const report = await verifyLogs({
      db: f.db,
      auditor,
      verifier: parseVerifierKey(signerFromKey(key).verifierKey),
      tenantId: tenant.tenantId,
    })
    assert.deepEqual(report.findings, [])
  })
})
