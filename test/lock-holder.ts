/**
 * Contention from outside the server: a second connection holding a row lock (PostgreSQL,
 * MySQL/MariaDB) or the SQLite writer, until released.
 */
import Database from 'better-sqlite3'
import mysql from 'mysql2/promise'
import pg from 'pg'
import type { DialectName } from '../packages/audited/src/db/dialect.js'

export async function holdLock(
  dialect: DialectName,
  url: string,
  webhookId: string,
  table: 'webhooks' | 'posts' | 'entries' = 'webhooks',
): Promise<{ release(): Promise<void> }> {
  if (dialect === 'sqlite') {
    const raw = new Database(url.slice('sqlite:'.length))
    raw.exec('BEGIN IMMEDIATE')
    return {
      release: async () => {
        raw.exec('ROLLBACK')
        raw.close()
      },
    }
  }
  if (dialect === 'postgres') {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query('BEGIN')
    await client.query(`SELECT id FROM ${table} WHERE id = $1 FOR UPDATE`, [webhookId])
    return {
      release: async () => {
        await client.query('ROLLBACK')
        await client.end()
      },
    }
  }
  const conn = await mysql.createConnection({ uri: url })
  await conn.query('START TRANSACTION')
  await conn.query(`SELECT id FROM ${table} WHERE id = ? FOR UPDATE`, [webhookId])
  return {
    release: async () => {
      await conn.query('ROLLBACK')
      await conn.end()
    },
  }
}
