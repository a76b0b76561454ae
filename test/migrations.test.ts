/**
 * `migrate` is idempotent and safe to run from several processes at once, on every dialect.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Kysely, sql } from 'kysely'
import { migrate, openDatabase } from '../packages/audited/src/index.js'
import { DIALECTS } from './setup.js'

for (const d of DIALECTS) {
  describe(`migrate [${d.name}]`, { skip: d.skip }, () => {
    it('concurrent runs from two connections apply each step once, then nothing', async () => {
      const created = await d.create()
      const a = await openDatabase(created.url)
      const b = await openDatabase(created.url)
      try {
        const [ra, rb] = await Promise.all([migrate(a), migrate(b)])
        assert.deepEqual([...ra, ...rb].sort(), [1, 2, 3, 4, 5, 6, 7, 8], 'each step applied exactly once')
        assert.deepEqual(await migrate(a), [])
        const rows = await (a.kysely as Kysely<{ audited_migrations: { id: number } }>)
          .selectFrom('audited_migrations')
          .select('id')
          .execute()
        assert.deepEqual(rows.map((r) => Number(r.id)).sort(), [1, 2, 3, 4, 5, 6, 7, 8])
        // the table is usable: an insert with the index columns works and reads back
        await sql`INSERT INTO change_events (event_id, hlc, wall_time, node_id, tx_id, table_name, record_id,
          operation, action, actor_id, actor_type) VALUES ('01JD0000000000000000000000', 1, ${new Date().toISOString().slice(0, 19).replace('T', ' ')},
          'n', 't', 'posts', '1', 'INSERT', 'create', 'u', 'user')`.execute(a.kysely)
        const n = await sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM change_events`.execute(b.kysely)
        assert.equal(Number(n.rows[0]?.n), 1)
      } finally {
        await a.close()
        await b.close()
        await created.drop()
      }
    })
  })
}
