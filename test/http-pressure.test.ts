/**
 * Pool pressure and database failure over HTTP: every request is answered within the
 * acquire timeout (success, or 503 with Retry-After), none hang, and the server recovers;
 * the circuit breaker fails fast while the database is down and closes after a good probe.
 */
import assert from 'node:assert/strict'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { migrate } from '../packages/audited/src/db/migrations.js'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { bootstrap } from '../packages/cms/src/cms/bootstrap.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { buildApp } from '../packages/cms/src/server/app.js'
import { CircuitBreaker } from '../packages/cms/src/server/circuit-breaker.js'
import { classifyHttpError } from '../packages/cms/src/server/error-reply.js'
import { ADMIN } from './http-setup.js'
import { holdLock } from './lock-holder.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

/** A TCP proxy to the real database that the test can cut and restore. */
class CuttableProxy {
  #server: Server | undefined
  readonly #sockets = new Set<Socket>()
  readonly #target: { host: string; port: number }
  port = 0

  constructor(target: { host: string; port: number }) {
    this.#target = target
  }

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target.port, this.#target.host)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('close', () => this.#sockets.delete(s))
        s.on('error', () => s.destroy())
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.#server = server
  }

  async down(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()))
    this.#server = undefined
  }
}

/** Sends a request's headers and part of its body over a real socket, then aborts it. */
async function abortedRequest(port: number, path: string): Promise<void> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"code":`,
  )
  await new Promise((r) => setTimeout(r, 100)) // the server has admitted it and waits for the body
  socket.destroy()
  await new Promise((r) => setTimeout(r, 50))
}

/** The test database opened through a cuttable proxy (pool of 2, 1 s acquire timeout). */
async function throughProxy(url: string, statementTimeoutMs: number) {
  const target = new URL(url)
  const proxy = new CuttableProxy({
    host: target.hostname,
    port: Number(target.port || (target.protocol.startsWith('postgres') ? 5432 : 3306)),
  })
  await proxy.up()
  const viaProxy = new URL(url)
  viaProxy.port = String(proxy.port)
  const db = await openDatabase(viaProxy.toString(), {
    pool: { max: 2, acquireTimeoutMs: 1000, statementTimeoutMs },
  })
  return { proxy, db }
}

for (const d of DIALECTS) {
  describe(`http pressure [${d.name}]`, { skip: d.skip }, () => {
    let drop: () => Promise<void>
    let url: string
    before(async () => {
      const created = await d.create()
      drop = created.drop
      url = created.url
      const db = await openDatabase(url)
      await migrate(db, CMS_MIGRATIONS)
      await bootstrap(db, createAuditor({ personalData: PERSONAL_DATA, db }), ADMIN)
      await db.close()
    })
    after(() => drop())

    it('a small pool under 20 concurrent slow writes answers every request in bounded time, then recovers', async () => {
      const db = await openDatabase(url, { pool: { max: 2, acquireTimeoutMs: 100 } })
      const auditor = createAuditor({
        personalData: PERSONAL_DATA,
        db,
        hooks: { before: () => new Promise((r) => setTimeout(r, 300)) }, // each write holds its connection 300 ms
      })
      const app = buildApp({ db, auditor })
      try {
        const login = () =>
          app.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: ADMIN,
            headers: { 'content-type': 'application/json' },
          })
        const answers = await Promise.all(Array.from({ length: 20 }, login))
        const statuses = answers.map((a) => a.statusCode)
        assert.ok(
          statuses.every((s) => s === 200 || s === 503),
          `only 200 or 503: ${statuses.join(',')}`,
        )
        assert.ok(statuses.includes(200), 'some requests get through')
        assert.ok(statuses.includes(503), 'the pool was exhausted for some')
        for (const a of answers.filter((x) => x.statusCode === 503)) {
          assert.ok(Number(a.headers['retry-after']) >= 1)
          assert.equal(JSON.parse(a.body).error.code, 'unavailable')
        }
        assert.equal((await login()).statusCode, 200, 'recovered once the burst is over')
      } finally {
        await app.close()
        await db.close()
      }
    })

    it('R9: with every connection held, reads (token look-up, lists, /ready) answer 503 pool_exhausted within the acquire timeout', {
      skip:
        d.name === 'sqlite'
          ? 'SQLite reads run on their own read-only connection and never wait for the writer'
          : undefined,
    }, async () => {
      const db = await openDatabase(url, { pool: { max: 2, acquireTimeoutMs: 300 } })
      const app = buildApp({ db, auditor: createAuditor({ personalData: PERSONAL_DATA, db }) })
      const held: { release(destroy?: boolean): void }[] = []
      let released = false
      const releaseAll = () => {
        if (released) return
        released = true
        for (const lease of held) lease.release()
      }
      // Without a bound the reads wait for these: answered 200 once they are freed.
      const safety = setTimeout(releaseAll, 8000)
      try {
        const login = await app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: ADMIN,
          headers: { 'content-type': 'application/json' },
        })
        const { token } = JSON.parse(login.body) as { token: string }
        held.push(await db.capabilities.acquire(1000), await db.capabilities.acquire(1000))
        const reads = await Promise.all([
          ...Array.from({ length: 10 }, () =>
            app.inject({
              method: 'GET',
              url: '/api/v1/locales',
              headers: { authorization: `Bearer ${token}` },
            }),
          ),
          app.inject({ method: 'GET', url: '/ready' }),
        ])
        const answeredWhileHeld = !released
        releaseAll()
        assert.ok(answeredWhileHeld, 'every read was answered while the pool was still held')
        for (const r of reads) {
          assert.equal(r.statusCode, 503, r.body)
          assert.equal(JSON.parse(r.body).error.details.reason, 'pool_exhausted')
          assert.ok(Number(r.headers['retry-after']) >= 1)
        }
        const again = await app.inject({
          method: 'GET',
          url: '/api/v1/locales',
          headers: { authorization: `Bearer ${token}` },
        })
        assert.equal(again.statusCode, 200, 'recovered once the connections are free')
      } finally {
        clearTimeout(safety)
        releaseAll()
        await app.close()
        await db.close()
      }
    })

    it('a connection cut while a query is in flight is `unavailable` (503), not an internal error', {
      skip:
        d.name === 'sqlite' ? 'SQLite is a file in this process: there is no connection to cut' : undefined,
    }, async () => {
      const { proxy, db } = await throughProxy(url, 5000)
      try {
        const sleep = d.name === 'postgres' ? sql`SELECT pg_sleep(2)` : sql`SELECT SLEEP(2)`
        const inFlight = sleep.execute(db.kysely).then(
          () => undefined,
          (e: unknown) => e,
        )
        await new Promise((r) => setTimeout(r, 200))
        await proxy.down()
        const error = await inFlight
        assert.ok(error !== undefined, 'the query failed with its connection')
        const classified = db.capabilities.classify(error)
        assert.equal(classified?.code, 'unavailable', `classified: ${String(error)}`)
        assert.equal(classifyHttpError(classified).status, 503)
      } finally {
        await db.close().catch(() => {})
        await proxy.down()
      }
    })

    it('the circuit opens after consecutive database failures, fails fast, and closes after a good probe', {
      skip:
        d.name === 'sqlite' ? 'SQLite is a file in this process: there is no connection to cut' : undefined,
    }, async () => {
      const { proxy, db } = await throughProxy(url, 1000)
      const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 300 })
      const app = buildApp({ db, auditor: createAuditor({ personalData: PERSONAL_DATA, db }), breaker })
      const ready = () => app.inject({ method: 'GET', url: '/ready' })
      try {
        assert.equal((await ready()).statusCode, 200)
        await proxy.down()
        for (let i = 0; i < 3; i++) assert.equal((await ready()).statusCode, 503)
        assert.equal(breaker.state, 'open')
        const fast = await ready()
        assert.equal(fast.statusCode, 503)
        assert.equal(JSON.parse(fast.body).error.details.reason, 'circuit_open')
        assert.ok(Number(fast.headers['retry-after']) >= 1)
        await proxy.up()
        await new Promise((r) => setTimeout(r, 350))
        assert.equal((await ready()).statusCode, 200, 'the probe reaches the database again')
        assert.equal(breaker.state, 'closed')
      } finally {
        await app.close()
        await db.close().catch(() => {})
        await proxy.down()
      }
    })

    it('R1: a probe whose client aborts mid-request frees the probe slot; the next request closes the circuit', {
      skip:
        d.name === 'sqlite' ? 'SQLite is a file in this process: there is no connection to cut' : undefined,
    }, async () => {
      const { proxy, db } = await throughProxy(url, 1000)
      const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 200 })
      const app = buildApp({ db, auditor: createAuditor({ personalData: PERSONAL_DATA, db }), breaker })
      try {
        await app.listen({ port: 0, host: '127.0.0.1' })
        const port = (app.server.address() as { port: number }).port
        const ready = () => fetch(`http://127.0.0.1:${port}/ready`)
        await proxy.down()
        for (let i = 0; i < 2; i++) assert.equal((await ready()).status, 503)
        assert.equal(breaker.state, 'open')
        await proxy.up()
        await new Promise((r) => setTimeout(r, 250))
        await abortedRequest(port, '/api/v1/locales') // admitted as the probe, then gone
        const after = await ready()
        assert.equal(after.status, 200, `the next request is let through: ${await after.text()}`)
        assert.equal(breaker.state, 'closed')
      } finally {
        await app.close()
        await db.close().catch(() => {})
        await proxy.down()
      }
    })

    it('R1: with the database cut, tokenless requests (401, no database call) do not keep the circuit closed', {
      skip:
        d.name === 'sqlite' ? 'SQLite is a file in this process: there is no connection to cut' : undefined,
    }, async () => {
      const { proxy, db } = await throughProxy(url, 1000)
      const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 60_000 })
      const app = buildApp({ db, auditor: createAuditor({ personalData: PERSONAL_DATA, db }), breaker })
      try {
        await proxy.down()
        for (let i = 0; i < 3; i++) {
          const anonymous = await app.inject({ method: 'GET', url: '/api/v1/locales' })
          assert.equal(anonymous.statusCode, 401)
          assert.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 503)
          assert.equal(
            (await app.inject({ method: 'GET', url: '/api/v1/locales' })).statusCode,
            i < 2 ? 401 : 503,
          )
        }
        assert.equal(breaker.state, 'open')
        const fast = await app.inject({ method: 'GET', url: '/ready' })
        assert.equal(JSON.parse(fast.body).error.details.reason, 'circuit_open')
      } finally {
        await app.close()
        await db.close().catch(() => {})
        await proxy.down()
      }
    })

    it('R10: writes timing out on a row locked elsewhere (or the SQLite writer held) do not open the circuit', async () => {
      const db = await openDatabase(url, {
        pool: { max: 4, acquireTimeoutMs: 2000, statementTimeoutMs: 300 },
        sqlite: { busyTimeoutMs: 200 },
      })
      const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 60_000 })
      const app = buildApp({ db, auditor: createAuditor({ personalData: PERSONAL_DATA, db }), breaker })
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: ADMIN,
        headers: { 'content-type': 'application/json' },
      })
      const auth = { authorization: `Bearer ${(JSON.parse(login.body) as { token: string }).token}` }
      const hook = await app.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        payload: { url: 'https://example.test/hook', events: ['*'] },
        headers: { ...auth, 'content-type': 'application/json' },
      })
      assert.equal(hook.statusCode, 201, hook.body)
      const hookId = (JSON.parse(hook.body) as { id: string }).id
      const holder = await holdLock(d.name, url, hookId)
      try {
        for (let i = 0; i < 4; i++) {
          const patch = await app.inject({
            method: 'PATCH',
            url: `/api/v1/webhooks/${hookId}`,
            payload: { active: i % 2 === 0 },
            headers: { ...auth, 'content-type': 'application/json' },
          })
          assert.equal(patch.statusCode, 503, patch.body)
        }
        assert.equal(breaker.state, 'closed', 'contention is not a database failure')
        assert.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200)
      } finally {
        await holder.release()
        await app.close()
        await db.close()
      }
    })
  })
}
