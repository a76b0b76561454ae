import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { sql } from 'kysely'
import type { HttpFixture } from './http-setup.js'

/** Binary columns as text, bigints as digits: a secret inside either is found too. */
const readable = (_key: string, v: unknown) =>
  typeof v === 'bigint'
    ? String(v)
    : (v as { type?: unknown })?.type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)
      ? Buffer.from((v as { data: number[] }).data).toString('latin1')
      : v

/**
 * No byte of any of `secrets` is left in the database: the SQLite file and its WAL read
 * byte by byte; on PostgreSQL and MariaDB every table of the test's database dumped.
 */
export async function assertNoPlaintext(
  f: Pick<HttpFixture, 'name' | 'url' | 'db'>,
  secrets: readonly string[],
) {
  if (f.name === 'sqlite') {
    const file = f.url.slice('sqlite:'.length)
    let scanned = 0
    for (const path of [file, `${file}-wal`]) {
      if (!existsSync(path)) continue
      const bytes = readFileSync(path)
      scanned += bytes.length
      for (const secret of secrets)
        assert.equal(bytes.indexOf(Buffer.from(secret)), -1, `${secret} in ${path}`)
    }
    assert.ok(scanned > 0, 'the database file was read')
    return
  }
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
  const names = tables.rows.map((r) => r.t)
  assert.ok(
    names.includes('users') && names.includes('entries') && names.includes('change_events'),
    names.join(),
  )
  for (const t of names) {
    const dump = JSON.stringify((await sql.raw(`SELECT * FROM ${t}`).execute(f.db.kysely)).rows, readable)
    for (const secret of secrets) assert.ok(!dump.includes(secret), `${secret} in table ${t}`)
  }
}
