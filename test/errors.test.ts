/**
 * The error catalogue: every code is documented in the README with its status, what a
 * client sees never leaks internals, and classification works across package copies.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { AuditedError, ERROR_CODES, isAuditedError, toAuditedError } from '../packages/audited/src/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('error catalogue', () => {
  it('every code is listed in the README with its status', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      assert.match(
        readme,
        new RegExp(`\\| \`${code}\` \\| ${status} \\|`),
        `README lists ${code} with ${status}`,
      )
    }
  })

  it('an internal error shows nothing of its cause', () => {
    const e = toAuditedError(new Error('SELECT secret FROM users -- at line 3'))
    assert.equal(e.code, 'internal')
    assert.equal(e.status, 500)
    assert.deepEqual(e.toJSON(), { code: 'internal', message: 'Internal error.' })
    assert.doesNotMatch(JSON.stringify(e), /SELECT|secret/)
  })

  it('client errors carry their message and details; retryable codes say so', () => {
    const e = new AuditedError('conflict', 'The record changed.', {
      details: { reason: 'version', currentVersion: 3 },
    })
    assert.deepEqual(e.toJSON(), {
      code: 'conflict',
      message: 'The record changed.',
      details: { reason: 'version', currentVersion: 3 },
    })
    assert.equal(e.retryable, false)
    assert.equal(
      new AuditedError('unavailable', undefined, { details: { reason: 'timeout' } }).retryable,
      true,
    )
    assert.equal(new AuditedError('validation').retryable, false)
    // The catalogue's reason decides where it differs from its code; an option overrides both.
    assert.equal(new AuditedError('conflict', 'x', { details: { reason: 'deadlock' } }).retryable, true)
    assert.equal(
      new AuditedError('conflict', 'x', { details: { reason: 'deadlock' }, retryable: false }).retryable,
      false,
    )
    assert.equal(new AuditedError('validation', 'x', { details: { reason: 'body_too_large' } }).status, 413)
  })

  it('classification is by code, so a copy from another package instance is recognised', () => {
    const foreign = Object.assign(new Error('x'), { name: 'AuditedError', code: 'not_found' })
    assert.equal(isAuditedError(foreign), true)
    assert.equal(
      isAuditedError(Object.assign(new Error('x'), { name: 'AuditedError', code: 'teapot' })),
      false,
    )
    assert.equal(isAuditedError(new Error('plain')), false)
    assert.equal(toAuditedError(foreign), foreign)
  })
})
