/**
 * A private PostgreSQL cluster for tests that must crash the server: initdb in a temporary
 * directory with the local installation's binaries, its own free port and unix-socket
 * directory, killed with SIGKILL and started again (crash recovery) at will.
 *
 * As root (initdb refuses root) the cluster runs as the `postgres` OS user, owning the
 * temporary directory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'

/** The directory holding `initdb` and `postgres`, or why there is none. */
export function findPgBinaries(): { dir: string } | { missing: string } {
  const candidates: string[] = []
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: 'pipe' }).trim())
  } catch {
    // no pg_config on PATH: try the Debian layout below
  }
  candidates.push('/usr/lib/postgresql/15/bin')
  const dir = candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres')))
  if (dir !== undefined) return { dir }
  return { missing: `no PostgreSQL server binaries (initdb, postgres) in ${candidates.join(' or ')}` }
}

/** The uid/gid to run the cluster as: ours, or the `postgres` user's when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no free port')
  return address.port
}

export interface PgCluster {
  /** Server URL of a database (`postgres` by default). */
  url(database?: string): string
  /** Runs one statement on the `postgres` database. */
  admin(statement: string): Promise<void>
  /** SIGKILL to the postmaster and every server process at once (a crash): returns when
   * they are all gone. */
  crash(): Promise<void>
  /** Starts the server (after a crash: crash recovery) and waits until it accepts. */
  start(): Promise<void>
  /** Stops the server and removes the directory. */
  destroy(): Promise<void>
  /** The server log so far (for failure messages). */
  log(): string
}

/** `settings`: `-c name=value` pairs for the server. */
export async function createPgCluster(
  binDir: string,
  settings: Record<string, string> = {},
): Promise<PgCluster> {
  const root = mkdtempSync(join(tmpdir(), 'audited-pgcrash-'))
  const data = join(root, 'data')
  const sockets = join(root, 'sockets')
  mkdirSync(sockets)
  const user = runAs()
  if (user !== undefined) {
    chownSync(root, user.uid, user.gid)
    chownSync(sockets, user.uid, user.gid)
  }
  const logFile = join(root, 'server.log')
  const ids = user === undefined ? {} : { uid: user.uid, gid: user.gid }
  execFileSync(
    join(binDir, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { stdio: 'pipe', cwd: root, ...ids },
  )
  const port = await freePort()
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    sockets,
    '-c',
    'listen_addresses=127.0.0.1',
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ]
  let server: ChildProcess | undefined

  const accepting = async () => {
    const deadline = Date.now() + 60_000
    for (;;) {
      const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 2000 })
      try {
        await client.connect()
        await client.query('SELECT 1')
        return
      } catch (e) {
        if (Date.now() > deadline || (server !== undefined && server.exitCode !== null))
          throw new Error(`the private PostgreSQL did not start: ${String(e)}\n${readLog()}`)
        await sleep(100)
      } finally {
        await client.end().catch(() => {})
      }
    }
  }
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
  const groupAlive = (pid: number) => {
    try {
      process.kill(-pid, 0)
      return true
    } catch {
      return false
    }
  }
  const killGroup = async () => {
    const pid = server?.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // already gone
    }
    // Bounded: a process that never goes (a zombie nobody reaps) fails the test, not hangs it.
    const deadline = Date.now() + 30_000
    while (groupAlive(pid)) {
      if (Date.now() > deadline)
        throw new Error(`the private PostgreSQL (process group ${pid}) still runs 30 s after SIGKILL`)
      await sleep(20)
    }
    server = undefined
  }

  const cluster: PgCluster = {
    url,
    async admin(statement) {
      const client = new pg.Client({ connectionString: url() })
      await client.connect()
      try {
        await client.query(statement)
      } finally {
        await client.end()
      }
    },
    async start() {
      const out = openSync(logFile, 'a')
      // Its own process group: a crash kills the postmaster and its children together.
      server = spawn(join(binDir, 'postgres'), args, { detached: true, stdio: ['ignore', out, out], ...ids })
      server.unref()
      await accepting()
    },
    crash: killGroup,
    async destroy() {
      await killGroup()
      rmSync(root, { recursive: true, force: true })
    },
    log: readLog,
  }
  return cluster
}
