/**
 * Review S: the server generates `DATA_DIR/personal-data.key` when it finds none — also when
 * the database already holds subject keys wrapped by another master key (a redeploy that
 * lost DATA_DIR, a second server pointed at the same database). It then starts, and every
 * read of a personal event and every write of an existing subject fails (the subject keys do
 * not open). A start-up with a master key that does not open the database's subject keys
 * must be refused, with a clear configuration error.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { track, within } from './child-support.js'

const ROOT = new URL('..', import.meta.url).pathname
const MAIN = join(ROOT, 'packages/cms/dist/cli/main.js')
const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' }

function start(dataDir: string, db: string) {
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      ...process.env,
      PORT: '0',
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${db}`,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'info',
      PERSONAL_DATA_KEY: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  track(child)
  let out = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const started = new Promise<string | undefined>((resolve) => {
    const on = (c: Buffer) => {
      out += c.toString()
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve(m[1])
    }
    child.stdout!.on('data', on)
    child.stderr!.on('data', on)
    void exited.then(() => resolve(undefined))
  })
  const listening = within(started, 60_000, 'the server listening or exiting', () => out)
  return { child, exited, listening, output: () => out }
}

async function stop(child: ChildProcess, exited: Promise<number | null>) {
  child.kill('SIGTERM')
  await within(exited, 30_000, 'exit after SIGTERM')
}

describe('review S: the personal-data master key at start-up', () => {
  const dirs: string[] = []
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('a start whose master key does not open the subject keys already stored is refused', async () => {
    const base = mkdtempSync(join(tmpdir(), 'rs-key-'))
    dirs.push(base)
    const db = join(base, 'cms.db')
    const first = start(join(base, 'one'), db)
    const url = await first.listening
    assert.ok(url, first.output())
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    })
    const { token } = (await login.json()) as { token: string }
    const created = await fetch(`${url}/api/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        email: 'person@example.test',
        name: 'A Person',
        password: 'long password',
        role: 'viewer',
      }),
    })
    assert.equal(created.status, 201)
    await stop(first.child, first.exited)

    // The same database, another (empty) DATA_DIR: a new master key would be generated.
    const second = start(join(base, 'two'), db)
    const secondUrl = await second.listening
    if (secondUrl !== undefined) await stop(second.child, second.exited)
    assert.equal(
      secondUrl,
      undefined,
      `started with a master key that opens none of the subject keys:\n${second.output()}`,
    )
    assert.equal(await second.exited, 2, second.output())
    assert.match(second.output(), /master key/i)
  })
})
