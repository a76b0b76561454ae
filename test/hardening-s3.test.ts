/**
 * S3: a session is only as good as the user behind it. Every authenticated request checks,
 * in the token look-up itself, that the session's user still exists with the role and
 * password the session was issued for — whatever wrote the user (a route that forgot to
 * revoke, a restore, a login racing the change).
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { AuditContext } from '../packages/audited/src/core/audit-context.js'
import { users } from '../packages/cms/src/cms/entities.js'
import { hashPassword } from '../packages/cms/src/cms/secrets.js'
import { forEachHttpDialect, type HttpFixture } from './http-setup.js'

const PASSWORD = 'first password 1'
let seq = 0
const email = () => `s3-${process.pid}-${++seq}@example.test`

const writer = (tenantId: string): AuditContext => ({ tenantId, actorId: 'test', actorType: 'system' })

async function newUser(
  f: HttpFixture,
  role: 'editor' | 'admin' = 'editor',
): Promise<{ id: string; email: string }> {
  const address = email()
  const res = await f.call('POST', '/api/v1/users', { body: { email: address, password: PASSWORD, role } })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.id, email: address }
}

async function login(f: HttpFixture, address: string, password = PASSWORD): Promise<string> {
  const res = await f.call('POST', '/api/v1/auth/login', { token: null, body: { email: address, password } })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body.token
}

/** A route every role may call: 200 while the session is good. */
const whoami = (f: HttpFixture, token: string) => f.call('GET', '/api/v1/roles', { token })

forEachHttpDialect('S3: sessions follow the user', (f) => {
  it("S3: a deleted user's session is refused (401), even when nothing revoked it", async () => {
    const user = await newUser(f)
    const session = await login(f, user.email)
    assert.equal((await whoami(f, session)).status, 200)
    // Straight through the engine: no route's revocation runs.
    await f.auditor.delete(users, user.id, writer(f.tenantId))
    const res = await whoami(f, session)
    assert.equal(res.status, 401)
    assert.equal(res.body.error.code, 'unauthorized')
  })

  it('S3: a role or password change that revoked nothing still ends the session; a name change does not', async () => {
    const demoted = await newUser(f, 'admin')
    const s1 = await login(f, demoted.email)
    await f.auditor.update(users, demoted.id, { role: 'viewer' }, writer(f.tenantId))
    assert.equal((await whoami(f, s1)).status, 401)
    const fresh = await login(f, demoted.email)
    const res = await f.call('GET', '/api/v1/users', { token: fresh })
    assert.equal(res.status, 403, 'a new session carries the new role')

    const changed = await newUser(f)
    const s2 = await login(f, changed.email)
    await f.auditor.update(
      users,
      changed.id,
      { password_hash: await hashPassword('second password 2') },
      writer(f.tenantId),
    )
    assert.equal((await whoami(f, s2)).status, 401)

    const renamed = await newUser(f)
    const s3 = await login(f, renamed.email)
    await f.auditor.update(users, renamed.id, { name: 'New Name' }, writer(f.tenantId))
    assert.equal((await whoami(f, s3)).status, 200)
  })

  it('S3: API tokens (no user) keep working', async () => {
    const made = await f.call('POST', '/api/v1/tokens', { body: { name: 's3 api', role: 'viewer' } })
    assert.equal(made.status, 201)
    assert.equal((await whoami(f, made.body.token)).status, 200)
  })

  if (f.name !== 'sqlite') {
    // SQLite has one writer: a held write transaction would make the login wait, not race.
    it(`S3: a login committed during a role change carries the new role or is refused [${f.name}]`, async () => {
      const user = await newUser(f, 'admin')
      let held!: () => void
      const holding = new Promise<void>((resolve) => {
        held = resolve
      })
      let release!: () => void
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      const change = f.auditor.transaction(writer(f.tenantId), async (tx) => {
        await tx.update(users, user.id, { role: 'viewer' })
        held()
        await released
      })
      await holding
      // The login reads the committed (old) role and commits its session first.
      const session = await login(f, user.email)
      release()
      await change
      const res = await f.call('GET', '/api/v1/users', { token: session })
      assert.ok(res.status === 401 || res.status === 403, `status ${res.status}: the old admin role is gone`)
    })
  }
})
