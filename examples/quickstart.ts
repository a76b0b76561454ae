/**
 * The README's ten lines, runnable: `npm run example` (SQLite in memory; pass a URL such
 * as postgres://postgres@127.0.0.1:5432/postgres to run it on another database).
 */
import { sql } from 'kysely'
import { createAuditor, defineEntity, migrate, openDatabase } from '../packages/audited/src/index.js'

const db = await openDatabase(process.argv[2] ?? 'sqlite::memory:')
await migrate(db)
await sql`CREATE TABLE IF NOT EXISTS posts (id varchar(26) PRIMARY KEY, tenant_id varchar(64) NOT NULL,
  title varchar(200) NOT NULL, status varchar(20) NOT NULL DEFAULT 'draft', version integer NOT NULL)`.execute(
  db.kysely,
)

// --- the ten lines ---
const posts = defineEntity({
  table: 'posts',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
  statusColumn: 'status',
})
const auditor = createAuditor({ db })
const ctx = {
  tenantId: 'acme',
  actorId: 'u_1',
  actorType: 'user',
  requestId: 'req-42',
  ip: '203.0.113.7',
} as const
const id = `post-${Date.now()}`
await auditor.create(posts, { id, title: 'Hello' }, ctx)
await auditor.update(posts, id, { title: 'Hello, world' }, ctx, { expectedVersion: 1 })
await auditor.update(posts, id, { status: 'published' }, ctx)
const history = (await auditor.events.history(posts, id)).events
console.log(history.map((e) => `${e.hlc} ${e.action} ${e.changedFields.join(',')}`).join('\n'))
// --- end ---

await db.close()
