import { auditContext, createAuditor, defineEntity, migrate, openDatabase } from 'audited'

const db = await openDatabase('sqlite:app.db') // or postgres://…, mysql://…
await migrate(db) // creates change_events (idempotent)
await db.kysely.schema
  .createTable('posts')
  .ifNotExists()
  .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
  .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
  .addColumn('title', 'varchar(200)', (c) => c.notNull())
  .addColumn('status', 'varchar(20)', (c) => c.notNull().defaultTo('draft'))
  .addColumn('version', 'integer', (c) => c.notNull())
  .execute()
const posts = defineEntity({
  table: 'posts',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
  statusColumn: 'status',
})
const auditor = createAuditor({ db })
const ctx = auditContext({ tenantId: 'acme', actorId: 'u_1', actorType: 'user', ip: '203.0.113.7' })
const id = crypto.randomUUID()
await auditor.create(posts, { id, title: 'Hello' }, ctx)
await auditor.update(posts, id, { title: 'Hello, world' }, ctx, { expectedVersion: 1 })
await auditor.update(posts, id, { status: 'published' }, ctx) // recorded as action "publish"
const { events } = await auditor.events.history(posts, id)
console.log(events.map((e) => `${e.action} ${e.changedFields.join(',')}`).join('\n'))
await db.close()
