/**
 * The README's "Error codes" table is the catalogue (as Fastify checks its error codes
 * against its docs): every code and every `details.reason` of src/core/error-catalogue.ts
 * has its row, with the status and retryability the catalogue gives it, and the table lists
 * nothing the catalogue lacks.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { AuditedError, ERROR_CODES, type ReasonInfo } from '../packages/audited/src/index.js'

/** `code reason` → the row's cells; reason `—` is the code's row for errors without one. */
function readmeErrorTable(): Map<string, { status: string; retryable: string; meaning: string }> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const lines = readme.split('\n')
  const start = lines.findIndex((l) => l.trim() === '## Error codes')
  assert.ok(start >= 0, 'README has a "## Error codes" section')
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '))
  const section = lines.slice(start + 1, end < 0 ? undefined : end)
  const header = section.findIndex((l) =>
    /^\|\s*code\s*\|\s*HTTP status\s*\|\s*retryable\s*\|\s*reason\s*\|/.test(l),
  )
  assert.ok(header >= 0, 'the section has a table: | code | HTTP status | retryable | reason | meaning |')
  const rows = new Map<string, { status: string; retryable: string; meaning: string }>()
  for (const line of section.slice(header + 2)) {
    if (!line.startsWith('|')) break
    const cells = line
      .slice(1, line.lastIndexOf('|'))
      .split('|')
      .map((c) => c.trim())
    assert.equal(cells.length, 5, `five cells: ${line}`)
    const [code, status, retryable, reason, meaning] = cells as [string, string, string, string, string]
    const key = `${code.replace(/`/g, '')} ${reason.replace(/`/g, '')}`
    assert.ok(!rows.has(key), `one row for ${key}`)
    rows.set(key, { status, retryable, meaning })
  }
  return rows
}

/** What the catalogue says each row must say. */
function catalogueRows(): Map<string, { status: string; retryable: string }> {
  const rows = new Map<string, { status: string; retryable: string }>()
  const yesNo = (b: boolean) => (b ? 'yes' : 'no')
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    if (!info.reasonRequired)
      rows.set(`${code} —`, { status: String(info.status), retryable: yesNo(info.retryable) })
    for (const [reason, r] of Object.entries(info.reasons as Record<string, ReasonInfo>)) {
      rows.set(`${code} ${reason}`, {
        status: String(r.status ?? info.status),
        retryable: yesNo(r.retryable ?? info.retryable),
      })
    }
  }
  return rows
}

describe('error catalogue and README', () => {
  it('every code and reason of the catalogue is in the README table, with its status and retryability', () => {
    const readme = readmeErrorTable()
    for (const [key, want] of catalogueRows()) {
      const row = readme.get(key)
      assert.ok(row, `README lists ${key}`)
      assert.equal(row.status, want.status, `${key}: HTTP status`)
      assert.equal(row.retryable, want.retryable, `${key}: retryable`)
      assert.ok(row.meaning.length > 0, `${key}: a meaning`)
    }
  })

  it('the README lists no code or reason the catalogue lacks', () => {
    const known = catalogueRows()
    for (const key of readmeErrorTable().keys()) assert.ok(known.has(key), `${key} is in the catalogue`)
  })

  it('codes that always carry a reason list at least one', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      if (info.reasonRequired) assert.ok(Object.keys(info.reasons).length > 0, code)
    }
  })

  it('an unlisted reason, or a conflict / unavailable without one, does not type-check (npx tsc)', () => {
    // @ts-expect-error — not a conflict reason
    const unlisted = new AuditedError('conflict', 'x', { details: { reason: 'teapot' } })
    // @ts-expect-error — every conflict names its reason
    const missing = new AuditedError('conflict', 'x')
    // @ts-expect-error — every unavailable names its reason
    const bare = new AuditedError('unavailable', 'x', { retryAfterSeconds: 1 })
    // @ts-expect-error — not_found has no reasons
    const other = new AuditedError('not_found', 'x', { details: { reason: 'unique' } })
    const fine = new AuditedError('unavailable', 'x', { details: { reason: 'pool_exhausted', waitedMs: 5 } })
    for (const e of [unlisted, missing, bare, other, fine]) assert.ok(e instanceof AuditedError)
    assert.equal(fine.retryable, true)
  })
})
