/**
 * An erase by another process (`audited erase` while the server runs; here another handle
 * and auditor, each with its own key cache) is seen by this one's readers at once: history
 * read after the erase committed shows `"[erased]"`, even for values this process had
 * decrypted a moment before. Reads used to keep a subject's key for 30 s.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { before, it } from 'node:test'
import { type Auditor, createAuditor, defineEntity, ERASED } from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId } from './setup.js'

const people = defineEntity({
  table: 'people_elsewhere',
  tenantColumn: 'tenant_id',
  personal: ['email', 'name'],
})

forEachDialect('an erase in another process', (f) => {
  const masterKey = randomBytes(32).toString('base64')
  const tenant = { ...ctx, tenantId: `else-${newId()}` }
  let server: Auditor
  let cli: Auditor

  before(async () => {
    await f.db.kysely.schema
      .createTable('people_elsewhere')
      .addColumn('id', 'varchar(26)', (c) => c.primaryKey())
      .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('email', 'varchar(200)')
      .addColumn('name', 'varchar(200)')
      .execute()
    server = createAuditor({ db: await f.open(), personalData: { masterKey } })
    cli = createAuditor({ db: await f.open(), personalData: { masterKey } })
  })

  it('reads "[erased]" in this process from the erase’s commit on', async () => {
    const id = newId()
    const email = `e-${id.toLowerCase()}@example.test`
    await server.create(people, { id, email, name: 'Ada' }, tenant)
    await server.update(people, id, { name: 'Ada L.' }, tenant)
    const read = async () => (await server.events.history(people, id, { tenantId: tenant.tenantId })).events
    const before = await read()
    assert.equal(before[0]!.newValues!.email, email, 'decrypted before (the key is now cached here)')
    assert.equal(before[1]!.newValues!.name, 'Ada L.')

    const result = await cli.privacy.erase(id, [people], tenant)
    assert.equal(result.keys, 1)

    const after = await read()
    assert.equal(after[0]!.newValues!.email, ERASED)
    assert.equal(after[0]!.newValues!.name, ERASED)
    assert.equal(after[1]!.oldValues!.name, ERASED)
    assert.equal(after[1]!.newValues!.name, ERASED)
    assert.equal(after.at(-1)!.action, 'erase')
    assert.deepEqual(await server.privacy.export(tenant.tenantId, id), [], 'nothing left to export')
  })

  it('still opens the values of a subject that was not erased', async () => {
    const kept = newId()
    const gone = newId()
    await server.create(people, { id: kept, email: `k-${kept}@example.test`, name: 'Kept' }, tenant)
    await server.create(people, { id: gone, email: `g-${gone}@example.test`, name: 'Gone' }, tenant)
    await cli.privacy.erase(gone, [people], tenant)
    const [k] = (await server.events.history(people, kept, { tenantId: tenant.tenantId })).events
    const [g] = (await server.events.history(people, gone, { tenantId: tenant.tenantId })).events
    assert.equal(k!.newValues!.name, 'Kept')
    assert.equal(g!.newValues!.name, ERASED)
  })
})
