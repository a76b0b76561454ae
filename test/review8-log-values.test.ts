/**
 * Review of issue 8 (request logging): a 500's log line carries the error, not the values
 * of the SQL statement that failed. mysql2 formats a statement's parameters into its text
 * client-side and keeps that text on the error (`err.sql`); pino logs every property of
 * the error, so the log showed the row being written — a webhook's plaintext secret, a
 * token hash, entry data. The statement's values never reach the log, on any dialect.
 */
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { sql } from 'kysely'
import { buildApp } from '../packages/cms/src/server/app.js'
import { forEachHttpDialect } from './http-setup.js'

const REFUSE: Record<'sqlite' | 'postgres' | 'mysql', string[]> = {
  sqlite: ["CREATE TRIGGER r8_refuse BEFORE INSERT ON locales BEGIN SELECT RAISE(ABORT, 'refused'); END"],
  postgres: [
    "CREATE FUNCTION r8_refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
    'CREATE TRIGGER r8_refuse BEFORE INSERT ON locales FOR EACH ROW EXECUTE FUNCTION r8_refuse()',
  ],
  mysql: [
    "CREATE TRIGGER r8_refuse BEFORE INSERT ON locales FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'",
  ],
}

forEachHttpDialect('review: log lines carry no statement values', (f) => {
  it("an internal error's log line shows neither the statement's values nor its text", async () => {
    const lines: string[] = []
    const app = buildApp({
      db: f.db,
      auditor: f.auditor,
      logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } },
    })
    after(() => app.close())
    await app.ready()
    // A trigger refuses every new locale: an error no dialect classifies (internal, 500).
    for (const statement of REFUSE[f.name]) await sql.raw(statement).execute(f.db.kysely)
    after(() =>
      sql.raw(`DROP TRIGGER r8_refuse${f.name === 'postgres' ? ' ON locales' : ''}`).execute(f.db.kysely),
    )
    const canary = `canary-${process.pid}-${Date.now()}`
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/locales',
      headers: { authorization: `Bearer ${f.adminToken}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ code: 'de', name: canary }),
    })
    assert.equal(res.statusCode, 500, res.body)
    assert.doesNotMatch(res.body, new RegExp(canary))
    const logged = lines.find((l) => l.includes('internal error'))
    assert.ok(logged, lines.join(''))
    assert.doesNotMatch(logged, new RegExp(canary), 'a value of the failed statement was logged')
  })
})
