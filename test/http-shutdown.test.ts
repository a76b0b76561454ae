/**
 * R8: shutdown and slow clients, against the real server process (`audited serve`) and a
 * real SIGTERM: an in-flight request on a keep-alive connection is answered with
 * `Connection: close` and the process exits; a client trickling its body is timed out
 * (408) and cannot hold shutdown past SHUTDOWN_TIMEOUT_MS; acknowledged writes survive.
 * The behaviour is the HTTP server's, not the database's: it runs on SQLite.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { openDatabase } from '../packages/audited/src/db/open-database.js'
import { hashToken } from '../packages/cms/src/cms/secrets.js'
import { killGroup, track, within } from './child-support.js'

const ADMIN = { email: 'root@example.test', password: 'a long enough password' }
/** Upper bound for "the process exits": far below the 72 s keep-alive it once waited out. */
const EXIT_BOUND_MS = 20_000

interface Server {
  readonly child: ChildProcess
  readonly port: number
  readonly exited: Promise<number | null>
}

async function startServer(databaseUrl: string, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--conditions=audited-dev', '--import', 'tsx', 'packages/cms/src/cli/main.ts', 'serve'],
    {
      env: {
        ...process.env,
        PORT: '0',
        LOG_LEVEL: 'info',
        DATABASE_URL: databaseUrl,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  )
  track(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let out = ''
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    exited.then(() => reject(new Error(`the server exited before listening:\n${out}`)))
  })
  const port = await within(listening, 60_000, 'the server listening', () => out).catch((e: unknown) => {
    killGroup(child)
    throw e
  })
  return { child, port, exited }
}

/** Resolves with the exit code, or 'still running' after EXIT_BOUND_MS. */
function exitOf(server: Server): Promise<number | null | 'still running'> {
  return Promise.race([
    server.exited,
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), EXIT_BOUND_MS).unref()),
  ])
}

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return socket
}

/** Collects what the server sends until it closes the connection (or `ms` pass). */
function received(socket: Socket): { text: () => string; closed: Promise<void> } {
  let text = ''
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString()
  })
  socket.on('error', () => {})
  return { text: () => text, closed: new Promise((r) => socket.once('close', () => r())) }
}

describe('R8 shutdown and slow clients [sqlite, real process]', () => {
  let dir: string
  let url: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'audited-shutdown-'))
    url = `sqlite:${join(dir, 'cms.db')}`
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('R8: SIGTERM with a request in flight on a keep-alive connection: answered with Connection: close, the write kept, the process exits', async () => {
    const server = await startServer(url)
    try {
      const socket = await open(server.port)
      const reply = received(socket)
      const body = JSON.stringify(ADMIN)
      socket.write(
        `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
      )
      await new Promise((r) => setTimeout(r, 200)) // the request is in flight
      server.child.kill('SIGTERM')
      await new Promise((r) => setTimeout(r, 200))
      socket.write(body.slice(5))
      await Promise.race([reply.closed, new Promise((r) => setTimeout(r, EXIT_BOUND_MS).unref())])
      const response = reply.text()
      assert.match(response, /^HTTP\/1\.1 200/, response)
      assert.match(response, /\r\nconnection: close\r\n/i, 'the last response ends its connection')
      assert.doesNotMatch(response, /keep-alive: timeout/i)
      assert.equal(await exitOf(server), 0)
      // the acknowledged write (the login's session) is in the database
      const token = (JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { token: string }).token
      const db = await openDatabase(url)
      try {
        const rows = await db.kysely
          .selectFrom('tokens')
          .select('id')
          .where('token_hash', '=', hashToken(token))
          .execute()
        assert.equal(rows.length, 1, 'the session the client was given exists')
      } finally {
        await db.close()
      }
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('R8: a client that never finishes its body gets 408 within REQUEST_TIMEOUT_MS', async () => {
    const server = await startServer(url, { REQUEST_TIMEOUT_MS: '1000' })
    try {
      const socket = await open(server.port)
      const reply = received(socket)
      socket.write(
        'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em',
      )
      await Promise.race([reply.closed, new Promise((r) => setTimeout(r, EXIT_BOUND_MS).unref())])
      assert.match(reply.text(), /^HTTP\/1\.1 408/, `answered: ${JSON.stringify(reply.text())}`)
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('R8: a slow-body client does not keep the process alive past SHUTDOWN_TIMEOUT_MS', async () => {
    const server = await startServer(url, { REQUEST_TIMEOUT_MS: '600000', SHUTDOWN_TIMEOUT_MS: '1000' })
    try {
      const socket = await open(server.port)
      const reply = received(socket)
      socket.write(
        'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"em',
      )
      await new Promise((r) => setTimeout(r, 200)) // admitted; its body never completes
      server.child.kill('SIGTERM')
      assert.equal(await exitOf(server), 0)
      await reply.closed
    } finally {
      server.child.kill('SIGKILL')
    }
  })
})
