/**
 * `audited verify --against nats://user:pass@host` uses the credentials in the URL: against a
 * private NATS server that requires them (the machine's nats-server binary, its own port and
 * store), the right ones get through to the stream lookup, wrong or missing ones are an
 * authorization failure — and the password never appears in the message. Skipped with its
 * reason where no nats-server binary exists (a failure under CI=true).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { isAuditedError } from '../packages/audited/src/index.js'
import { prepareVerify } from '../packages/cms/src/cli/verify-command.js'
import { checkpointSettings } from '../packages/cms/src/server/checkpoint-key.js'

const KEY = 'audited+044bd1e5+AWqB7je+EhKjze0I5bFOn8OlIdDYNUDpxHRoK5Tuk2HR'
const IN_CI = process.env.CI === 'true' || process.env.CI === '1'

function natsServerBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}
const binary = natsServerBinary()
const skip =
  binary === undefined
    ? IN_CI
      ? undefined // CI: fail below rather than skip
      : 'no nats-server binary on this machine: the private authenticated server cannot start'
    : undefined

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

describe('verify --against nats:// with credentials', { skip }, () => {
  let child: ChildProcess
  let port: number
  const dir = mkdtempSync(join(tmpdir(), 'audited-nats-auth-'))
  before(async () => {
    assert.ok(binary, 'CI=true: a nats-server binary is required for this test')
    port = await freePort()
    child = spawn(
      binary,
      ['-a', '127.0.0.1', '-p', String(port), '--user', 'wit', '--pass', 's3cr3t-pw', '-js', '-sd', dir],
      {
        stdio: 'ignore',
      },
    )
    // Until it accepts connections.
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const c = netConnect(port, '127.0.0.1', () => {
          c.destroy()
          resolve(true)
        })
        c.on('error', () => resolve(false))
      })
      if (ok) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error('the private nats-server did not start')
  })
  after(() => {
    child?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  const attempt = (url: string) => prepareVerify({ key: KEY, against: url }, checkpointSettings({}))

  it('the right credentials get through: the (absent) witness stream is looked up', async () => {
    await assert.rejects(attempt(`nats://wit:s3cr3t-pw@127.0.0.1:${port}`), (e: unknown) => {
      assert.ok(isAuditedError(e) && e.code === 'validation', String(e))
      assert.match(e.message, /does not exist/)
      return true
    })
  })

  it('wrong or missing credentials: an authorization failure, the password not shown', async () => {
    for (const url of [`nats://wit:wrong-pw@127.0.0.1:${port}`, `nats://127.0.0.1:${port}`]) {
      await assert.rejects(attempt(url), (e: unknown) => {
        assert.ok(isAuditedError(e) && e.code === 'validation', String(e))
        assert.match(e.message, /authoriz/i, url)
        assert.doesNotMatch(e.message, /wrong-pw|s3cr3t-pw/)
        return true
      })
    }
  })
})
