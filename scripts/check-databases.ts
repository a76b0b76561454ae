/**
 * Runs before `npm test`: says loudly which databases the suite will use and which it
 * will skip. With CI=true a missing database fails here, before any test runs.
 */
import mysql from 'mysql2/promise'
import pg from 'pg'

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/'
const inCi = process.env.CI === 'true' || process.env.CI === '1'
const only = (process.env.DIALECTS ?? 'sqlite,postgres,mysql').split(',')

async function probe(
  name: string,
  wanted: boolean,
  connect: () => Promise<void>,
): Promise<string | undefined> {
  if (!wanted) return `${name}: not selected by DIALECTS`
  try {
    await connect()
    return undefined
  } catch (e) {
    return `${name}: not reachable (${(e as Error).message})`
  }
}

const missing = (
  await Promise.all([
    probe('PostgreSQL', only.includes('postgres'), async () => {
      const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
      await c.connect()
      await c.end()
    }),
    probe('MySQL/MariaDB', only.includes('mysql'), async () => {
      const c = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 2000 })
      await c.end()
    }),
  ])
).filter((m): m is string => m !== undefined)

if (missing.length === 0) {
  console.log('databases: sqlite, postgres, mysql — all dialects will be tested')
} else if (inCi) {
  console.error(`CI=true but some databases are missing:\n  ${missing.join('\n  ')}`)
  process.exit(1)
} else {
  const bar = '!'.repeat(78)
  console.error(
    `${bar}\n!! SKIPPING tests of:\n!!   ${missing.join('\n!!   ')}\n!! Only the other dialects run. Set PG_URL / MYSQL_URL, or CI=true to fail.\n${bar}`,
  )
}
