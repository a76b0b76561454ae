/**
 * Personal keys inside a JSON column (`personalJson`), on every dialect: which keys are
 * personal, and whose, is decided per row by reading a schema table in the writing
 * transaction; only those keys are encrypted in events (each its own envelope), readers see
 * them decrypted, a change of the subject key encrypts the old state under the old subject,
 * and erase removes the keys from the subject's rows only, leaving "[erased]" in history.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { before, it } from 'node:test'
import {
  type Auditor,
  createAuditor,
  defineEntity,
  ERASED,
  type JsonObject,
} from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId } from './setup.js'

interface Form {
  id: string
  tenant_id: string
  kind: string
  data: Record<string, unknown>
  version: number
}

/** The personal keys of a `forms` row: listed in `form_kinds` for its kind; subject `data.owner`. */
const forms = defineEntity<Form>({
  table: 'forms',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
  columns: { data: 'json' },
  personalJson: {
    column: 'data',
    async fields(row, reader) {
      const [kind] = await reader.read<{ personal: string }>(
        reader.kysely
          .selectFrom('form_kinds')
          .select('personal')
          .where('tenant_id', '=', row.tenant_id)
          .where('kind', '=', row.kind),
      )
      if (kind === undefined) return undefined
      const data = row.data as Record<string, unknown>
      return { keys: kind.personal.split(','), subject: String(data.owner ?? row.id) }
    },
  },
})

/** The tenant's stored events once `n` are readable (PostgreSQL: the feed bound waits for
 * transactions open elsewhere in the cluster). */
async function feedOf(auditor: Auditor, tenantId: string, n: number) {
  for (let attempt = 0; ; attempt += 1) {
    const { events } = await auditor.feed.read({ tenantId })
    if (events.length >= n || attempt > 400) return events
    await new Promise((r) => setTimeout(r, 25))
  }
}

forEachDialect('personal keys of a JSON column', (f) => {
  let auditor: Auditor
  const mark = newId().toLowerCase()
  const tenant = { ...ctx, tenantId: `pj-${newId()}` }
  const [a, b, c] = [newId(), newId(), newId()]
  const owner = `own-${newId()}`

  before(async () => {
    await f.db.kysely.schema
      .createTable('form_kinds')
      .addColumn('tenant_id', 'varchar(64)', (col) => col.notNull())
      .addColumn('kind', 'varchar(20)', (col) => col.notNull())
      .addColumn('personal', 'varchar(200)', (col) => col.notNull())
      .execute()
    await f.db.kysely.schema
      .createTable('forms')
      .addColumn('id', 'varchar(26)', (col) => col.primaryKey())
      .addColumn('tenant_id', 'varchar(64)', (col) => col.notNull())
      .addColumn('kind', 'varchar(20)', (col) => col.notNull())
      .addColumn('data', 'text', (col) => col.notNull())
      .addColumn('version', 'integer', (col) => col.notNull())
      .execute()
    await f.db.kysely
      .insertInto('form_kinds')
      .values({ tenant_id: tenant.tenantId, kind: 'signup', personal: 'email,phone' })
      .execute()
    auditor = createAuditor({ db: f.db, personalData: { masterKey: randomBytes(32).toString('base64') } })
    await auditor.transaction(tenant, async (tx) => {
      await tx.create(forms, {
        id: a,
        kind: 'signup',
        data: { owner, email: `a-${mark}@x.test`, phone: `+1${mark}`, topic: 'news' },
      })
      await tx.create(forms, { id: b, kind: 'signup', data: { owner, email: `b-${mark}@x.test` } })
      await tx.create(forms, { id: c, kind: 'other', data: { owner, email: 'plain@x.test' } })
    })
  })

  it('encrypts only the personal keys, per key, and readers see them decrypted', async () => {
    const stored = await feedOf(auditor, tenant.tenantId, 3)
    assert.equal(stored.length, 3)
    assert.ok(!JSON.stringify(stored).includes(mark), 'no plaintext in the stored events')
    const data = stored.find((e) => e.recordId === a)!.newValues!.data as Record<string, unknown>
    assert.match(String(data.email), /^enc:v1:/)
    assert.match(String(data.phone), /^enc:v1:/)
    assert.equal(data.topic, 'news')
    assert.equal(data.owner, owner, 'the subject key stays readable')
    const other = stored.find((e) => e.recordId === c)!.newValues!.data as Record<string, unknown>
    assert.equal(other.email, 'plain@x.test', 'a row whose kind lists no personal keys is not encrypted')
    const [created] = (await auditor.events.history(forms, a, { tenantId: tenant.tenantId })).events
    assert.deepEqual(created!.newValues!.data, {
      owner,
      email: `a-${mark}@x.test`,
      phone: `+1${mark}`,
      topic: 'news',
    })
    const exported = await auditor.privacy.export(tenant.tenantId, owner)
    assert.deepEqual(exported.map((e) => e.recordId).sort(), [a, b].sort())
  })

  it('an envelope moved to another key does not open', async () => {
    const e = (await feedOf(auditor, tenant.tenantId, 3)).find((x) => x.recordId === a)
    const data = e!.newValues!.data as JsonObject
    const moved = { ...e!, newValues: { ...e!.newValues!, data: { ...data, topic: data.email! } } }
    const [opened] = await auditor.privacy.open([moved])
    assert.equal((opened!.newValues!.data as Record<string, unknown>).topic, ERASED)
  })

  it('erase removes the subject’s keys from its rows and history reads "[erased]"', async () => {
    const other = `own-${newId()}`
    await auditor.update(forms, b, { data: { owner: other, email: `b-${mark}@x.test` } }, tenant)
    const result = await auditor.privacy.erase(owner, [forms], tenant)
    assert.deepEqual(result, { rows: 1, keys: 1 }, 'b belongs to another subject now; c has no personal keys')
    const rowA = await f.db.kysely.selectFrom('forms').selectAll().where('id', '=', a).executeTakeFirst()
    assert.deepEqual(JSON.parse(String(rowA!.data)), { owner, topic: 'news' })
    const history = (await auditor.events.history(forms, a, { tenantId: tenant.tenantId })).events
    assert.equal(history.at(-1)!.action, 'erase')
    assert.deepEqual(history[0]!.newValues!.data, { owner, email: ERASED, phone: ERASED, topic: 'news' })
    const moves = (await auditor.events.history(forms, b, { tenantId: tenant.tenantId })).events
    const move = moves.at(-1)!
    assert.equal((move.oldValues!.data as Record<string, unknown>).email, ERASED, 'old state: the old owner')
    assert.equal((move.newValues!.data as Record<string, unknown>).email, `b-${mark}@x.test`, 'new owner')
    const again = await auditor.privacy.erase(owner, [forms], tenant)
    assert.deepEqual(again, { rows: 0, keys: 0 }, 'idempotent')
  })

  it('defineEntity refuses a personalJson column that is not declared json', () => {
    assert.throws(
      () => defineEntity({ table: 'x', personalJson: { column: 'data', fields: () => undefined } }),
      /declared json/,
    )
  })
})
