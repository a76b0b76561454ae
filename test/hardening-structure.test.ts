/**
 * Structure (issue 7): per-dialect SQL lives in `src/db/dialects/`; the engine asks the
 * dialect's capabilities (here: how to read a generated key back without RETURNING).
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'

const DIALECT_SQL = /LAST_INSERT_ID|information_schema|sqlite_master|pg_catalog|GET_LOCK|pg_advisory/i

describe('Structure: per-dialect SQL only in packages/audited/src/db/dialects', () => {
  it('Structure: no engine file (audit, core) names dialect-specific SQL', () => {
    for (const dir of ['packages/audited/src/audit', 'packages/audited/src/core']) {
      for (const file of readdirSync(dir)) {
        const text = readFileSync(join(dir, file), 'utf8')
        // Comments may mention them; code may not.
        const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
        assert.doesNotMatch(code, DIALECT_SQL, `${dir}/${file}`)
      }
    }
  })
})
