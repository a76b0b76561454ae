/** Helpers of the admin API tests: unique names, tenants, users, tokens, row counts. */
import assert from 'node:assert/strict'
import { ADMIN, type HttpFixture } from './http-setup.js'

export type Role = 'admin' | 'editor' | 'viewer' | 'auditor'
export const ROLES: readonly Role[] = ['admin', 'editor', 'viewer', 'auditor']
export const PASSWORD = 'first password 1'

/** Unique names per suite run (every dialect has its own database; tests share one). */
let seq = 0
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}`
export const email = () => `${unique('user')}@example.test`

export async function newTenant(f: HttpFixture): Promise<{ id: string; adminToken: string }> {
  const res = await f.call('POST', '/api/v1/tenants', { body: { name: unique('tenant') } })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.tenant.id, adminToken: res.body.adminToken }
}

export async function newToken(
  f: HttpFixture,
  adminToken: string,
  role: Role,
): Promise<{ id: string; token: string }> {
  const res = await f.call('POST', '/api/v1/tokens', {
    token: adminToken,
    body: { name: `${role} token`, role },
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.id, token: res.body.token }
}

export async function newUser(
  f: HttpFixture,
  adminToken: string,
  role: Role = 'editor',
  password = PASSWORD,
): Promise<{ id: string; email: string }> {
  const address = email()
  const res = await f.call('POST', '/api/v1/users', {
    token: adminToken,
    body: { email: address, password, role },
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.id, email: address }
}

export async function login(f: HttpFixture, address: string, password: string) {
  return f.call('POST', '/api/v1/auth/login', { token: null, body: { email: address, password } })
}

export async function count(f: HttpFixture, table: string): Promise<number> {
  const row = await f.db.readKysely
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function counts(f: HttpFixture): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const t of ['change_events', 'tenants', 'users', 'tokens']) out[t] = await count(f, t)
  return out
}

/** The bootstrap platform admin's user id (tenant `default`). */
export async function platformAdminId(f: HttpFixture): Promise<string> {
  const list = await f.call('GET', '/api/v1/users?limit=200')
  const me = list.body.items.find((u: { email: string }) => u.email === ADMIN.email)
  assert.ok(me)
  return me.id
}

/** No secret, in any spelling, anywhere in a response. */
export function assertNoSecrets(body: unknown): void {
  const text = JSON.stringify(body)
  assert.doesNotMatch(text, /password|tokenHash|token_hash|scrypt\$/i)
}
