/**
 * One autocannon run of `npm run bench:http` against the server, with the server's and the
 * machine's CPU use during it, and the one-line summary of a run.
 */
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

// ------------------------------------------------------------------------------- CPU use

interface CpuMark {
  readonly at: number
  readonly serverTicks: number
  readonly self: NodeJS.CpuUsage
  readonly machine: { busy: number; total: number }
}

/** clock ticks per second for /proc (USER_HZ; 100 on Linux). */
const HZ = 100

function machineTicks(): { busy: number; total: number } {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    const v = first.trim().split(/\s+/).slice(1).map(Number)
    const total = v.reduce((a, b) => a + b, 0)
    const idle = (v[3] ?? 0) + (v[4] ?? 0)
    return { busy: total - idle, total }
  } catch {
    return { busy: 0, total: 0 }
  }
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12]) // utime, stime
  } catch {
    return Number.NaN
  }
}

const cpuMark = (pid: number): CpuMark => ({
  at: performance.now(),
  serverTicks: processTicks(pid),
  self: process.cpuUsage(),
  machine: machineTicks(),
})

export interface CpuUse {
  /** Percent of one core. */
  readonly server: number
  readonly client: number
  /** Percent of all cores. */
  readonly machine: number
}

function cpuSince(start: CpuMark, pid: number): CpuUse {
  const end = cpuMark(pid)
  const seconds = (end.at - start.at) / 1000
  const self = process.cpuUsage(start.self)
  const machineTotal = end.machine.total - start.machine.total
  return {
    server: ((end.serverTicks - start.serverTicks) / HZ / seconds) * 100,
    client: ((self.user + self.system) / 1e6 / seconds) * 100,
    machine: machineTotal > 0 ? ((end.machine.busy - start.machine.busy) / machineTotal) * 100 : Number.NaN,
  }
}

// -------------------------------------------------------------------------------- loads

export interface LoadSpec {
  readonly title: string
  readonly url: string
  readonly method: 'GET' | 'POST' | 'PATCH'
  readonly connections: number
  readonly seconds: number
  readonly token?: string
  readonly body?: string
  /** A path per request (round-robin targets); else the URL's path. */
  readonly path?: () => string
}

export interface RunResult {
  readonly title: string
  readonly connections: number
  readonly seconds: number
  readonly ok: number
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly statuses: Readonly<Record<string, number>>
  /** Per non-2xx status, the error code (and reason) of the first such response. */
  readonly samples: Readonly<Record<string, string>>
  readonly cpu: CpuUse
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]!
}

/**
 * One autocannon run. Latencies come from autocannon's per-response timings (float ms,
 * 2xx only, as autocannon's own histogram but without its rounding to whole ms).
 */
export async function load(spec: LoadSpec, serverPid: number): Promise<RunResult> {
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  const headers: Record<string, string> = {
    ...(spec.token === undefined ? {} : { authorization: `Bearer ${spec.token}` }),
    ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
  }
  const next = spec.path
  const request: autocannon.Request = {
    method: spec.method,
    headers,
    ...(spec.body === undefined ? {} : { body: spec.body }),
    ...(next === undefined ? {} : { setupRequest: (req: autocannon.Request) => ({ ...req, path: next() }) }),
  }
  const samples: Record<string, string> = {}
  // The first error body of each status, to explain it: autocannon keeps no bodies.
  const setupClient = (client: autocannon.Client) => {
    let status = 0
    client.on('headers', (h) => {
      status = Number((h as unknown as { statusCode?: number }).statusCode ?? 0)
    })
    client.on('body', (chunk) => {
      if (status < 300 || samples[status] !== undefined) return
      const text = chunk.toString('utf8')
      const code = /"code":"([a-z_]+)"/.exec(text)?.[1]
      const reason = /"reason":"([a-z_]+)"/.exec(text)?.[1]
      if (code !== undefined) samples[status] = reason === undefined ? code : `${code}: ${reason}`
    })
  }
  const start = cpuMark(serverPid)
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.seconds,
        timeout: 30,
        requests: [request],
        setupClient,
      },
      (err: Error | null, r: autocannon.Result) => (err ? reject(err) : resolve(r)),
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    })
  })
  const cpu = cpuSince(start, serverPid)
  const sorted = Float64Array.from(latencies).sort()
  const ok = result['2xx']
  return {
    title: spec.title,
    connections: spec.connections,
    seconds: result.duration,
    ok,
    rps: ok / result.duration,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    samples,
    cpu,
  }
}

export const roundRobin = (paths: readonly string[]) => {
  let i = 0
  return () => paths[i++ % paths.length]!
}

export function fmt(n: number, digits: number): string {
  if (!Number.isFinite(n)) return '–'
  return n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function describe(r: RunResult): string {
  const bad = r.non2xx + r.errors + r.timeouts
  return (
    `${r.title.padEnd(34)} c=${String(r.connections).padStart(2)}  ${fmt(r.rps, 0).padStart(6)} req/s` +
    `  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms  max ${fmt(r.max, 0)} ms` +
    `  cpu server ${fmt(r.cpu.server, 0)}% client ${fmt(r.cpu.client, 0)}% machine ${fmt(r.cpu.machine, 0)}%` +
    (bad > 0
      ? `  !! non-2xx ${r.non2xx} errors ${r.errors} timeouts ${r.timeouts} ${JSON.stringify(r.statuses)} ${JSON.stringify(r.samples)}`
      : '')
  )
}
