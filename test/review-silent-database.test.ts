/**
 * Review of issue 7 (R1, R9, R10): a database that answers nothing — a network partition
 * that drops packets, a hung server — rather than one that refuses connections. Every
 * request must still be answered in bounded time (a query on a connection that goes silent
 * must not wait forever), and such calls count as `unreachable`, so the circuit opens.
 */
import assert from 'node:assert/strict'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createAuditor } from '../packages/audited/src/audit/auditor.js'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { buildApp } from '../packages/cms/src/server/app.js'
import { CircuitBreaker } from '../packages/cms/src/server/circuit-breaker.js'
import { DIALECTS, PERSONAL_DATA } from './setup.js'

/** A TCP proxy to the real database that can go silent: connections stay open, no byte passes. */
class SilenceableProxy {
  silent = false
  port = 0
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined

  async start(target: { host: string; port: number }): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = connect(target.port, target.host)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('error', () => s.destroy())
        s.on('close', () => this.#sockets.delete(s))
      }
      client.on('data', (b) => this.silent || upstream.write(b))
      upstream.on('data', (b) => this.silent || client.write(b))
    })
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve))
    this.port = (this.#server.address() as { port: number }).port
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()))
  }
}

/** Settles with the response, or with 'no answer' once `ms` have passed. */
function within<T>(ms: number, p: Promise<T>): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'no answer'>((resolve) => {
    timer = setTimeout(() => resolve('no answer'), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

for (const d of DIALECTS) {
  const skip =
    d.skip ?? (d.name === 'sqlite' ? 'SQLite is a file in this process: nothing to partition' : undefined)
  describe(`review: a silent database [${d.name}]`, { skip }, () => {
    let drop: () => Promise<void>
    let url: string
    before(async () => {
      const created = await d.create()
      drop = created.drop
      url = created.url
    })
    after(() => drop())

    it('a query on a connection that goes silent ends (503), enough of them open the circuit, and it closes once the database answers again', async () => {
      const target = new URL(url)
      const proxy = new SilenceableProxy()
      await proxy.start({
        host: target.hostname,
        port: Number(target.port || (d.name === 'postgres' ? 5432 : 3306)),
      })
      const via = new URL(url)
      via.port = String(proxy.port)
      // Statement timeout 500 ms: the server would answer any statement within it.
      const db = await openDatabase(via.toString(), {
        pool: { max: 2, acquireTimeoutMs: 500, statementTimeoutMs: 500 },
      })
      const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 300 })
      const app = buildApp({ db, auditor: createAuditor({ personalData: PERSONAL_DATA, db }), breaker })
      const ready = () => app.inject({ method: 'GET', url: '/ready' })
      try {
        assert.equal((await ready()).statusCode, 200)
        assert.equal((await ready()).statusCode, 200)
        proxy.silent = true
        // Both pooled connections are open and idle: each /ready gets one and waits.
        for (let i = 0; i < 2; i++) {
          const res = await within(20_000, ready())
          assert.notEqual(res, 'no answer', 'a query on a silent connection waited 20 s')
          assert.equal((res as { statusCode: number }).statusCode, 503)
        }
        assert.equal(breaker.state, 'open', 'calls the database never answered count as unreachable')
        // The partition heals: the silent connections are gone, a probe gets a fresh one.
        proxy.silent = false
        await new Promise((r) => setTimeout(r, 350))
        const healed = await within(20_000, ready())
        assert.equal((healed as { statusCode: number }).statusCode, 200)
        assert.equal(breaker.state, 'closed')
      } finally {
        await app.close()
        await proxy.stop()
        await db.close().catch(() => {})
      }
    })
  })
}
