/**
 * SIGINT/SIGTERM for the server, installed before anything starts: a signal that arrives
 * while the server is still starting (migrating, binding) is held until the start-up is
 * done and then shuts it down gracefully — without the handlers installed that early, the
 * default action would kill the process half-way. A second signal during the shutdown
 * (npm and a supervisor may both forward one) is logged, never fatal.
 */
export interface ShutdownSignals {
  /** The start-up is done: `shutdown` runs now if a signal came meanwhile, else on the first. */
  ready(shutdown: (signal: NodeJS.Signals) => void, log: (signal: NodeJS.Signals) => void): void
  /** The start-up failed: the handlers are removed (the caller reports the failure). */
  dispose(): void
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

export function holdShutdownSignals(): ShutdownSignals {
  let pending: NodeJS.Signals | undefined
  let shutdown: ((signal: NodeJS.Signals) => void) | undefined
  let again: ((signal: NodeJS.Signals) => void) | undefined
  let signalled = false
  const fire = (signal: NodeJS.Signals) => {
    if (signalled) return again?.(signal)
    signalled = true
    shutdown!(signal)
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown === undefined) pending ??= signal
    else fire(signal)
  }
  for (const signal of SIGNALS) process.on(signal, onSignal)
  return {
    ready(run, log) {
      shutdown = run
      again = log
      if (pending !== undefined) fire(pending)
    },
    dispose() {
      for (const signal of SIGNALS) process.off(signal, onSignal)
    },
  }
}
