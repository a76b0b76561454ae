/**
 * The server's log output: JSON lines (pino's own) for machines, or — on a terminal, or
 * with LOG_FORMAT=pretty — one readable line per entry:
 *
 *   12:04:31.207 INFO  POST /api/v1/entries/post 201 4.1 ms  req=01JD…
 *   12:04:35.880 WARN  purging expired sessions failed  err="connection refused"
 */

export type LogFormat = 'json' | 'pretty'

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
}
/** pino's own fields and the request line's (its message says them), not repeated. */
const OWN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId', 'v', 'req', 'res', 'responseTime'])

/** The format to use: as asked, else pretty on a terminal, JSON otherwise. */
export function logFormatFor(asked: string | undefined, isTty: boolean): LogFormat {
  if (asked === 'json' || asked === 'pretty') return asked
  return isTty ? 'pretty' : 'json'
}

/** One pino JSON line as a readable line (a line that is not JSON passes unchanged). */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : ''
  const level = LEVELS[entry.level as number] ?? String(entry.level)
  const rest: string[] = []
  for (const [key, value] of Object.entries(entry)) {
    if (OWN.has(key) || value === undefined) continue
    rest.push(`${key}=${show(value)}`)
  }
  if (typeof entry.reqId === 'string') rest.push(`req=${entry.reqId}`)
  return `${time} ${level} ${String(entry.msg ?? '')}${rest.length > 0 ? `  ${rest.join(' ')}` : ''}`
}

function show(value: unknown): string {
  if (typeof value === 'string') return /^[\w./:@-]+$/.test(value) ? value : JSON.stringify(value)
  if (typeof value === 'object' && value !== null && 'message' in value) {
    return JSON.stringify(String((value as { message: unknown }).message))
  }
  return JSON.stringify(value)
}

/** A pino destination that writes `prettyLine`s to `out` (pino writes whole lines). */
export function prettyStream(out: NodeJS.WritableStream): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') out.write(`${prettyLine(line)}\n`)
    },
  }
}

/**
 * An error as a log line shows it: type, message, code, errno and stack, and its cause's —
 * never the statement a driver error carries (mysql2 keeps the statement with its
 * parameters formatted in as `err.sql`: the row being written, secrets included).
 */
export function loggedError(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return { message: String(error) }
  const { code, errno } = error as { code?: unknown; errno?: unknown }
  return {
    type: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    ...(errno === undefined ? {} : { errno }),
    stack: error.stack,
    ...(error.cause === undefined || depth >= 3 ? {} : { cause: loggedError(error.cause, depth + 1) }),
  }
}
