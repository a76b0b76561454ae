/**
 * Issue 8 item 3: `openDatabase<DB>(url)` types the application's own queries on
 * `db.kysely`. The type assertions are checked by `npm run typecheck` (a wrong table or
 * column is a compile error, marked `@ts-expect-error` so the check cannot pass vacuously);
 * the test body runs the same queries against a real database.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { openDatabase } from '../packages/audited/src/index.js'
import { DIALECTS } from './setup.js'

interface AppSchema {
  notes: { id: string; body: string; stars: number }
}

for (const d of DIALECTS) {
  it(`openDatabase<DB> gives a typed Kysely [${d.name}]`, { skip: d.skip }, async () => {
    const created = await d.create()
    const db = await openDatabase<AppSchema>(created.url)
    try {
      await db.kysely.schema
        .createTable('notes')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('body', 'varchar(200)', (c) => c.notNull())
        .addColumn('stars', 'integer', (c) => c.notNull())
        .execute()
      await db.kysely.insertInto('notes').values({ id: 'n1', body: 'typed', stars: 3 }).execute()
      const row = await db.kysely.selectFrom('notes').select(['body', 'stars']).executeTakeFirstOrThrow()
      const body: string = row.body
      const stars: number = Number(row.stars)
      assert.deepEqual({ body, stars }, { body: 'typed', stars: 3 })
      const typeErrors = () => {
        // @ts-expect-error: no such table in AppSchema
        db.kysely.selectFrom('missing')
        // @ts-expect-error: no such column
        db.kysely.selectFrom('notes').select('nope')
        // @ts-expect-error: stars is a number
        db.kysely.insertInto('notes').values({ id: 'x', body: 'b', stars: 'three' })
      }
      assert.equal(typeof typeErrors, 'function')
    } finally {
      await db.close()
      await created.drop()
    }
  })
}
