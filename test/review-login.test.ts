/**
 * Review of issue 7 (S4, S6) — login:
 * - the account limit cannot be side-stepped by spelling the e-mail another way that the
 *   database's collation still matches (MariaDB's default `utf8mb4_general_ci` pads
 *   trailing spaces: `'a@x.test ' = 'a@x.test'`);
 * - with TRUST_PROXY, an X-Forwarded-For that is not an address (or too long for the
 *   `ip` column) does not turn a correct login into a 400: the socket address is recorded.
 */
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { buildApp } from '../packages/cms/src/server/app.js'
import { LoginLimiter } from '../packages/cms/src/server/login-limiter.js'
import { forEachHttpDialect, type HttpFixture } from './http-setup.js'

const PASSWORD = 'review password 1'
let seq = 0

async function newUser(f: HttpFixture): Promise<string> {
  const email = `review-login-${process.pid}-${++seq}@example.test`
  const res = await f.call('POST', '/api/v1/users', { body: { email, password: PASSWORD, role: 'viewer' } })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return email
}

forEachHttpDialect('review: login', (f) => {
  const apps: ReturnType<typeof buildApp>[] = []
  after(async () => {
    for (const a of apps) await a.close()
  })
  const appWith = async (options: Partial<Parameters<typeof buildApp>[0]>) => {
    const app = buildApp({ db: f.db, auditor: f.auditor, ...options })
    apps.push(app)
    await app.ready()
    return (email: string, password: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: '10.9.0.1',
        headers: { 'content-type': 'application/json', ...headers },
        payload: JSON.stringify({ email, password }),
      })
  }

  it('S4: a locked account stays locked however its e-mail is spelled (trailing spaces, case)', async () => {
    const login = await appWith({ login: { limiter: LoginLimiter.memory({ perIp: 1000, perAccount: 2 }) } })
    const victim = await newUser(f)
    for (let i = 0; i < 2; i++) assert.equal((await login(victim, `guess ${i}`)).statusCode, 401)
    assert.equal((await login(victim, PASSWORD)).statusCode, 429, 'the account is locked')
    for (const variant of [`${victim} `, `${victim}   `, victim.toUpperCase()]) {
      const res = await login(variant, PASSWORD)
      assert.notEqual(res.statusCode, 200, `${JSON.stringify(variant)} signed in past the lock: ${res.body}`)
    }
  })

  it('S6: with TRUST_PROXY, a login whose X-Forwarded-For is no address succeeds and records the socket address', async () => {
    const login = await appWith({ trustProxy: true })
    const person = await newUser(f)
    for (const forwarded of ['x'.repeat(100), 'not-an-address']) {
      const res = await login(person, PASSWORD, { 'x-forwarded-for': forwarded })
      assert.equal(res.statusCode, 200, res.body)
      const { items: events } = (
        await f.call('GET', `/api/v1/audit/events?table=tokens&action=create&limit=1000`)
      ).body as { items: { ip: string | null; reason: string | null }[] }
      const last = events.filter((e) => e.reason === 'login').at(-1)!
      assert.equal(last.ip, '10.9.0.1')
    }
  })
})

forEachHttpDialect('review: login limit per IPv6 network', (f) => {
  it('S4: failures from one IPv6 /64 count together (one host holds 2^64 addresses); another /64 is not affected', async () => {
    const app = buildApp({
      db: f.db,
      auditor: f.auditor,
      login: { limiter: LoginLimiter.memory({ perIp: 3, perAccount: 1000 }) },
    })
    after(() => app.close())
    await app.ready()
    const login = (email: string, password: string, ip: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        remoteAddress: ip,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ email, password }),
      })
    const person = await newUser(f)
    for (const ip of ['2001:db8:1:2::a', '2001:db8:1:2:ffff::b', '2001:0db8:0001:0002::c']) {
      assert.equal((await login(person, 'wrong', ip)).statusCode, 401)
    }
    assert.equal((await login(person, PASSWORD, '2001:db8:1:2::d')).statusCode, 429, 'same /64')
    assert.equal((await login(person, PASSWORD, '2001:db8:1:3::1')).statusCode, 200, 'another /64')
  })
})
