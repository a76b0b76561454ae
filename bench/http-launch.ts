/** bench:http: the CMS server under test, as a child process (default) or in-process. */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type BenchServer, type ServerMessage, startBenchServer } from './http-server.js'
import type { ServerMode } from './http-settings.js'

export interface RunningServer extends BenchServer {
  /** The process serving requests (this one when in-process). */
  readonly pid: number
}

export const SERVER_ENTRY = fileURLToPath(new URL('./http-server.ts', import.meta.url))
export const children = new Set<ChildProcess>()

export async function launchChild(databaseUrl: string): Promise<RunningServer> {
  const child = fork(SERVER_ENTRY, [], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    execArgv: ['--conditions=audited-dev', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = await new Promise<ServerMessage>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ServerMessage))
    child.once('exit', (code) => reject(new Error(`the bench server exited (code ${code}) before listening`)))
  })
  const pid = child.pid
  if (pid === undefined) throw new Error('the bench server has no pid')
  return {
    ...ready,
    pid,
    close: async () => {
      if (child.exitCode === null) child.send('stop')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      children.delete(child)
    },
  }
}

export async function launch(mode: ServerMode, databaseUrl: string): Promise<RunningServer> {
  if (mode === 'child') return launchChild(databaseUrl)
  const server = await startBenchServer(databaseUrl)
  return { url: server.url, bareUrl: server.bareUrl, close: () => server.close(), pid: process.pid }
}
