/**
 * Child processes of the tests, so that a failed assertion cannot leave one running: a child
 * whose pipes are open (or that holds a server's port) keeps the test file from ending, and
 * CI then waits until its own timeout (test/server-start.test.ts once hung CI for 90 minutes).
 *
 * A long-lived child is spawned `detached: true` (its own process group) and passed to
 * `track`: it is killed, with what it started, after the file's tests at the latest. Every
 * wait on a child's output or exit is bounded with `within`, which fails with what the child
 * printed; a one-shot `execFile` gets `BOUNDED` (killed after two minutes).
 */
import type { ChildProcess } from 'node:child_process'
import { after } from 'node:test'

/** Every child `track` was given: killed after the file's tests. */
const started = new Set<ChildProcess>()

/** SIGKILL to the child's process group (it was spawned `detached: true`): it and its children. */
export function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** `child`, spawned `detached: true`, killed with its group after the file's tests at the latest. */
export function track<T extends ChildProcess>(child: T): T {
  killOnSignal()
  started.add(child)
  return child
}

after(() => {
  for (const child of started) killGroup(child)
})

// A tracked child is in a group of its own, which a terminal's Ctrl-C (or a runner's
// SIGTERM to this file) does not reach: this process kills the groups before it goes.
let onSignal = false
function killOnSignal(): void {
  if (onSignal) return
  onSignal = true
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(signal, () => {
      for (const child of started) killGroup(child)
      process.exit(signal === 'SIGINT' ? 130 : 143)
    })
}

/** Resolves when the child has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** `promise`, or a failure naming `what` and showing the child's output after `ms`: a child
 * that neither prints what is awaited nor exits fails its test instead of hanging the run. */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  output: () => string = () => '(not captured)',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms; output:\n${output()}`)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** `execFile` options for a one-shot command: killed after two minutes (the promise then
 * rejects with `killed: true`, `signal: 'SIGKILL'`), so that a command that never ends fails. */
export const BOUNDED = { timeout: 120_000, killSignal: 'SIGKILL' } as const
