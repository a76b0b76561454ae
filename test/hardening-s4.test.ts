/**
 * S4: login answers an unknown e-mail exactly as a wrong password (same key derivation),
 * limits failed attempts per IP and per account (shared through Redis when configured),
 * and never lets a login flood occupy more than a few threadpool threads.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { isAuditedError } from '../packages/audited/src/core/errors.js'
import { buildApp } from '../packages/cms/src/server/app.js'
import { DerivationGate } from '../packages/cms/src/server/derivation-gate.js'
import { LoginLimiter } from '../packages/cms/src/server/login-limiter.js'
import { ADMIN, forEachHttpDialect, type HttpFixture } from './http-setup.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PASSWORD = 'first password 1'
let seq = 0
const email = () => `s4-${process.pid}-${++seq}@example.test`

async function newUser(f: HttpFixture): Promise<string> {
  const address = email()
  const res = await f.call('POST', '/api/v1/users', {
    body: { email: address, password: PASSWORD, role: 'viewer' },
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return address
}

type Login = (
  address: string,
  password: string,
  ip?: string,
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are asserted field by field.
) => Promise<{ status: number; body: any; headers: Record<string, unknown> }>

function loginVia(app: ReturnType<typeof buildApp>): Login {
  return async (address, password, ip = '10.0.0.1') => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: ip,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: address, password }),
    })
    return { status: res.statusCode, body: JSON.parse(res.body), headers: res.headers }
  }
}

function assertLimited(res: Awaited<ReturnType<Login>>): void {
  assert.equal(res.status, 429, JSON.stringify(res.body))
  assert.equal(res.body.error.code, 'rate_limited')
  const after = Number(res.headers['retry-after'])
  assert.ok(Number.isInteger(after) && after >= 1, `Retry-After ${res.headers['retry-after']}`)
}

forEachHttpDialect('S4: login', (f) => {
  const apps: ReturnType<typeof buildApp>[] = []
  const app = async (login: Parameters<typeof buildApp>[0]['login']) => {
    const built = buildApp({ db: f.db, auditor: f.auditor, login })
    apps.push(built)
    await built.ready()
    return loginVia(built)
  }
  after(async () => {
    for (const a of apps) await a.close()
  })

  it('S4: an unknown e-mail runs the same password derivation as a wrong password, and answers the same', async () => {
    const gate = new DerivationGate()
    const login = await app({ gate })
    const known = await newUser(f)
    const wrong = await login(known, 'not the password')
    assert.equal(gate.derivations, 1)
    const unknown = await login(email(), 'not the password')
    assert.equal(gate.derivations, 2, 'the unknown e-mail ran a key derivation too')
    assert.equal(wrong.status, 401)
    assert.deepEqual({ ...unknown.body.error, requestId: null }, { ...wrong.body.error, requestId: null })
    assert.equal((await login(known, PASSWORD)).status, 200)
    assert.equal(gate.derivations, 3)
  })

  it('S4: after N failures from one IP the next attempt is 429 with Retry-After; other IPs are not affected', async () => {
    const login = await app({
      limiter: LoginLimiter.memory({ perIp: 3, perAccount: 100, windowSeconds: 60 }),
    })
    const known = await newUser(f)
    for (let i = 0; i < 3; i++) assert.equal((await login(email(), 'x', '10.0.1.1')).status, 401)
    assertLimited(await login(known, PASSWORD, '10.0.1.1'))
    assert.equal((await login(known, PASSWORD, '10.0.1.2')).status, 200)
  })

  it('S4: failures count per account across IPs; a success resets the account count (not the IP count)', async () => {
    const login = await app({
      limiter: LoginLimiter.memory({ perIp: 100, perAccount: 3, windowSeconds: 60 }),
    })
    const victim = await newUser(f)
    const other = await newUser(f)
    // Two failures, a success: the account's count starts over.
    assert.equal((await login(victim, 'guess 1', '10.0.2.1')).status, 401)
    assert.equal((await login(victim, 'guess 2', '10.0.2.2')).status, 401)
    assert.equal((await login(victim, PASSWORD, '10.0.2.3')).status, 200)
    for (let i = 0; i < 3; i++) assert.equal((await login(victim, `guess ${i}`, `10.0.3.${i}`)).status, 401)
    const limited = await login(victim, PASSWORD, '10.0.3.9')
    assertLimited(limited)
    assert.equal(limited.body.error.details.reason, 'login_attempts')
    // Another account from an IP that took part is fine.
    assert.equal((await login(other, PASSWORD, '10.0.3.0')).status, 200)
  })

  it('S4: limits are shared through Redis by two app instances', async () => {
    const prefix = `audited-test-${randomBytes(6).toString('hex')}`
    const options = { perIp: 100, perAccount: 2, windowSeconds: 60, keyPrefix: prefix }
    const a = LoginLimiter.redis(REDIS_URL, options)
    const b = LoginLimiter.redis(REDIS_URL, options)
    try {
      const first = await app({ limiter: a })
      const second = await app({ limiter: b })
      const victim = await newUser(f)
      assert.equal((await first(victim, 'guess 1')).status, 401)
      assert.equal((await first(victim, 'guess 2')).status, 401)
      assertLimited(await second(victim, PASSWORD, '10.0.4.4'))
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('S4: while Redis is unreachable, logins still work and are limited in memory', async () => {
    const limiter = LoginLimiter.redis('redis://127.0.0.1:1', {
      perIp: 100,
      perAccount: 2,
      windowSeconds: 60,
    })
    try {
      const login = await app({ limiter })
      const user = await newUser(f)
      assert.equal((await login(user, PASSWORD)).status, 200)
      assert.equal((await login(user, 'guess 1')).status, 401)
      assert.equal((await login(user, 'guess 2')).status, 401)
      assertLimited(await login(user, PASSWORD))
    } finally {
      await limiter.close()
    }
  })

  it('S4: concurrent logins beyond the derivation bound are refused (429), never more derivations at once', async () => {
    const gate = new DerivationGate({ maxConcurrent: 1, maxQueued: 1 })
    const login = await app({
      gate,
      limiter: LoginLimiter.memory({ perIp: 1000, perAccount: 1000, windowSeconds: 60 }),
    })
    const results = await Promise.all(Array.from({ length: 8 }, () => login(ADMIN.email, 'wrong password')))
    const statuses = results.map((r) => r.status)
    assert.ok(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(),
    )
    assert.ok(statuses.includes(429), `some were refused: ${statuses.join()}`)
    assert.ok(statuses.includes(401), `some were checked: ${statuses.join()}`)
    for (const r of results.filter((x) => x.status === 429)) {
      assertLimited(r)
      assert.equal(r.body.error.details.reason, 'login_busy')
    }
    assert.equal(gate.peak, 1)
  })
})

describe('S4: DerivationGate', () => {
  it('S4: runs at most maxConcurrent at once, queues maxQueued, refuses the rest with rate_limited', async () => {
    const gate = new DerivationGate({ maxConcurrent: 1, maxQueued: 1 })
    let release!: () => void
    const latch = new Promise<void>((resolve) => {
      release = resolve
    })
    const order: number[] = []
    const first = gate.run(async () => {
      await latch
      order.push(1)
    })
    const second = gate.run(async () => {
      order.push(2)
    })
    await assert.rejects(
      gate.run(async () => order.push(3)),
      (e: unknown) => isAuditedError(e) && e.code === 'rate_limited' && e.details?.reason === 'login_busy',
    )
    release()
    await Promise.all([first, second])
    assert.deepEqual(order, [1, 2])
    assert.equal(gate.peak, 1)
    assert.equal(gate.derivations, 2)
  })
})
