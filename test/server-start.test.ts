/**
 * Issue 8 item 6: the server as a newcomer starts it. `npm start` runs the built server
 * directly (SIGTERM to the process npm started, or to npm, shuts it down gracefully), the
 * first start prints where to go and who to sign in as once, apart from the log lines;
 * requests are logged one line each (health probes and metric scrapes not at all), as JSON
 * off a terminal and as readable lines with LOG_FORMAT=pretty. The process behaviour is the
 * server's, not the database's: these run on SQLite. Cold start is reported, not asserted.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { logFormatFor, prettyLine } from '../packages/cms/src/server/log-lines.js'
import { killGroup, track, within } from './child-support.js'

const ROOT = new URL('..', import.meta.url).pathname

interface Started {
  readonly child: ChildProcess
  readonly url: string
  readonly output: () => string
  readonly exited: Promise<number | null>
  readonly startMs: number
}

/** `npm start` in the repository, on a fresh SQLite file, until the server listens. */
async function npmStart(dir: string, env: Record<string, string> = {}): Promise<Started> {
  const began = performance.now()
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      DATABASE_URL: `sqlite:${join(dir, 'cms.db')}`,
      DATA_DIR: dir,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  track(child)
  let out = ''
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString()
  })
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m =
        /API: +(http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(out) ??
        /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearInterval(timer)
        resolve(m[1]!)
      }
    }, 10)
    exited.then(() => {
      clearInterval(timer)
      reject(new Error(`npm start exited before listening:\n${out}`))
    })
  })
  const url = await within(listening, 60_000, 'npm start listening', () => out).catch((e: unknown) => {
    killGroup(child)
    throw e
  })
  return { child, url, output: () => out, exited, startMs: performance.now() - began }
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20))
  assert.ok(check(), what)
}

describe('npm start', () => {
  const dirs: string[] = []
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('first start: the notice once, one JSON line per request, none for probes; SIGTERM to npm stops it gracefully', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audited-start-'))
    dirs.push(dir)
    const server = await npmStart(dir)
    process.stdout.write(`# npm start to listening (first start, SQLite): ${server.startMs.toFixed(0)} ms\n`)
    // Printed right after the listen returns, so possibly after the line that said listening.
    await until(() => server.output().includes('shown once'), 'the first-start notice')
    const notice = /e-mail: +(\S+)\n +password: +(\S+) +\(generated, shown once\)/.exec(server.output())
    assert.ok(notice, server.output())
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: notice[1], password: notice[2] }),
    })
    assert.equal(login.status, 200, 'the printed credentials sign in')
    for (const probe of ['/health', '/ready', '/metrics']) {
      assert.equal((await fetch(`${server.url}${probe}`)).status, 200, probe)
    }
    assert.equal((await fetch(`${server.url}/api/v1/content-types`)).status, 401)
    await until(() => server.output().includes('/api/v1/content-types'), 'the request was logged')
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; pid: number; res?: { statusCode: number } })
    const requests = lines.filter((l) => l.res !== undefined)
    assert.deepEqual(
      requests.map((l) => l.msg.split(' ').slice(0, 3).join(' ')),
      ['POST /api/v1/auth/login 200', 'GET /api/v1/content-types 401'],
      'one line per request, no probe logged',
    )
    assert.equal(server.output().match(/shown once/g)?.length, 1)
    // SIGTERM to npm: npm passes it to the server it started (no shell in between).
    server.child.kill('SIGTERM')
    // The server must shut down gracefully (the log line below) and be gone (the orphan check).
    // npm exits with the server's code: 0.
    assert.equal(await within(server.exited, 30_000, 'exit after SIGTERM', server.output), 0)
    assert.match(server.output(), /"signal":"SIGTERM","msg":"shutting down"/)
    const pid = lines[0]!.pid
    assert.throws(() => process.kill(pid, 0), 'the server process is gone, not orphaned')

    // Second start on the same database: no notice, and SIGTERM to the server process itself.
    const again = await npmStart(dir)
    process.stdout.write(`# npm start to listening (second start, SQLite): ${again.startMs.toFixed(0)} ms\n`)
    assert.doesNotMatch(again.output(), /First start/)
    await until(() => /"pid":(\d+)/.test(again.output()), 'a log line with the pid')
    const serverPid = Number(/"pid":(\d+)/.exec(again.output())![1])
    assert.notEqual(serverPid, again.child.pid)
    process.kill(serverPid, 'SIGTERM')
    assert.equal(await within(again.exited, 30_000, 'exit after SIGTERM', again.output), 0)
  })

  it('LOG_FORMAT=pretty writes readable lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audited-start-'))
    dirs.push(dir)
    const server = await npmStart(dir, { LOG_FORMAT: 'pretty' })
    assert.equal((await fetch(`${server.url}/api/v1/content-types`)).status, 401)
    await until(
      () => /INFO {2}GET \/api\/v1\/content-types 401/.test(server.output()),
      'a readable request line',
    )
    assert.match(
      server.output(),
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}GET \/api\/v1\/content-types 401 [\d.]+ ms {2}req=\S+$/m,
    )
    assert.doesNotMatch(server.output(), /^\{"level"/m, 'no JSON lines')
    server.child.kill('SIGTERM')
    assert.equal(await within(server.exited, 30_000, 'exit after SIGTERM', server.output), 0)
  })

  it('SIGTERM during start-up (before it listens) still shuts down gracefully, exit code 0', async () => {
    // Regression: the signal handlers were installed only after the server listened, so a
    // SIGTERM in that window killed it by the default action (npm then exited by the signal).
    const dir = mkdtempSync(join(tmpdir(), 'audited-start-'))
    dirs.push(dir)
    const child = spawn(process.execPath, [join(ROOT, 'packages/cms/dist/cli/main.js'), 'serve'], {
      env: {
        ...process.env,
        PORT: '0',
        DATA_DIR: dir,
        DATABASE_URL: `sqlite:${join(dir, 'cms.db')}`,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    track(child)
    let out = ''
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    )
    // The first thing a fresh start prints is the generated checkpoint key, before the
    // database opens: the signal lands in the middle of the start-up.
    const keyPrinted = new Promise<void>((resolve) => {
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString()
        if (/checkpoint/i.test(out)) resolve()
      })
      child.stderr!.on('data', (c: Buffer) => {
        out += c.toString()
      })
    })
    try {
      await within(keyPrinted, 60_000, 'the checkpoint key notice', () => out)
      child.kill('SIGTERM')
      assert.deepEqual(
        await within(exited, 30_000, 'exit after SIGTERM', () => out),
        { code: 0, signal: null },
        out,
      )
    } finally {
      killGroup(child)
    }
    assert.match(out, /"signal":"SIGTERM","msg":"shutting down"/)
  })

  it('a bad LOG_FORMAT is refused before the server starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audited-start-'))
    dirs.push(dir)
    const server = npmStart(dir, { LOG_FORMAT: 'xml' })
    await assert.rejects(server, /LOG_FORMAT must be json or pretty/)
  })
})

describe('log lines', () => {
  it('formats pino entries as one readable line; other text passes unchanged', () => {
    const line = prettyLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
        pid: 1,
        hostname: 'h',
        msg: 'slow',
        ms: 12,
        err: { message: 'boom x' },
        reqId: 'r1',
      }),
    )
    assert.equal(line, '03:04:05.006 WARN  slow  ms=12 err="boom x" req=r1')
    assert.equal(prettyLine('not json'), 'not json')
    assert.equal(logFormatFor(undefined, true), 'pretty')
    assert.equal(logFormatFor(undefined, false), 'json')
    assert.equal(logFormatFor('json', true), 'json')
  })
})
