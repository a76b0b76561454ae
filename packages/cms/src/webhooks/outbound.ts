/**
 * One webhook delivery attempt: vet the host (DNS resolved once), POST the body over a
 * connection pinned to the vetted address, classify the answer. Never throws: every failure
 * is an `AttemptResult`, and the caller (the dispatcher) decides when retries are exhausted.
 *
 * The pinning is what defeats DNS rebinding: undici's `connect` hook is handed the vetted IP
 * as the host to dial, so no second lookup happens; the URL's own host name still goes into
 * the `Host` header and the TLS SNI / certificate check. Redirects are never followed (undici's
 * `request` follows none), the whole attempt (DNS, connect, headers, body) is bounded by one
 * timer, and at most `maxResponseBytes` of the answer are read before the socket is dropped.
 */
import { createRequire } from 'node:module'
import { Agent, buildConnector, type Dispatcher, request as undiciRequest } from 'undici'
import { parseRetryAfter } from './retry-after.js'
import { type HostPolicy, type LookupFn, vetAddress } from './ssrf.js'

export interface WebhookRequest {
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** The whole attempt, DNS to last byte read (default 15000). */
  readonly timeoutMs?: number
  /** Bytes of the response body kept (default 65536); the rest is not read. */
  readonly maxResponseBytes?: number
}

export type AttemptOutcome = 'success' | 'retry' | 'disable' | 'failure'

export type AttemptResult = {
  outcome: AttemptOutcome
  status?: number
  latencyMs: number
  /** Short, for the delivery log: no stack, no internal address. */
  error?: string
  retryAfterMs?: number
  responseBody?: string
}

export const DEFAULT_TIMEOUT_MS = 15_000
export const DEFAULT_MAX_RESPONSE_BYTES = 65_536

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version
export const USER_AGENT = `audited-webhooks/${VERSION}`

/** Headers the transport owns: a caller's value for them is dropped. */
const TRANSPORT_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive'])

class AttemptTimeout extends Error {}

export async function sendWebhook(
  request: WebhookRequest,
  policy: HostPolicy,
  options: { lookup?: LookupFn } = {},
): Promise<AttemptResult> {
  const started = performance.now()
  const latency = () => Math.round(performance.now() - started)
  const permanent = permanentProblem(request.url)
  if (permanent !== undefined) return { outcome: 'failure', latencyMs: 0, error: permanent }
  const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const maxBytes = request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new AttemptTimeout()), timeoutMs)
  let agent: Agent | undefined
  try {
    const vetted = await untilAborted(
      vetAddress(request.url.hostname, policy, options.lookup),
      controller.signal,
    )
    agent = pinnedAgent(request.url, vetted.address, timeoutMs)
    const res = await undiciRequest(request.url, {
      method: 'POST',
      headers: outgoingHeaders(request.headers),
      body: request.body,
      dispatcher: agent,
      signal: controller.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    })
    const { text: responseBody } = await readCapped(res.body, maxBytes)
    return classify(res.statusCode, res.headers, latency(), responseBody)
  } catch (e) {
    return { outcome: 'retry', latencyMs: latency(), error: describe(e, controller.signal, timeoutMs) }
  } finally {
    clearTimeout(timer)
    // Agents are shared by attempts to the same vetted address and kept: a connection whose
    // answer was cut off (too long, timed out) is destroyed with its request; one read to
    // the end goes back to the agent for the next attempt.
  }
}

/** What no retry can fix: a scheme other than http(s), or credentials in the URL. */
function permanentProblem(url: URL): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'blocked scheme: only http and https'
  if (url.username !== '' || url.password !== '') return 'credentials in URL: not sent'
  return undefined
}

/** Agents by origin and vetted address: connections are reused only towards the address
 * this attempt's own DNS answer vetted, so a changed answer gets a new connection. */
const AGENTS = new Map<string, Agent>()
const MAX_AGENTS = 256

/** An agent whose every connection dials `address`, whatever host the request names. */
function pinnedAgent(url: URL, address: string, timeoutMs: number): Agent {
  const key = `${url.origin} ${address} ${timeoutMs}`
  const known = AGENTS.get(key)
  if (known !== undefined) return known
  const connector = buildConnector({ timeout: timeoutMs })
  const agent = new Agent({
    connections: 16,
    pipelining: 1,
    keepAliveTimeout: 4000,
    connect: (opts, callback) => connector({ ...opts, hostname: address }, callback),
  })
  if (AGENTS.size >= MAX_AGENTS) {
    const [oldestKey, oldest] = AGENTS.entries().next().value as [string, Agent]
    AGENTS.delete(oldestKey)
    void oldest.close().catch(() => undefined)
  }
  AGENTS.set(key, agent)
  return agent
}

function outgoingHeaders(given: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(given)) {
    const key = name.toLowerCase()
    if (!TRANSPORT_HEADERS.has(key)) headers[key] = value
  }
  headers['content-type'] = 'application/json'
  headers['user-agent'] = USER_AGENT
  return headers
}

/** Up to `max` bytes of the body as text. A body longer than that is cut off: the stream
 * is destroyed (the socket with it) and `complete` is false. */
async function readCapped(
  body: Dispatcher.ResponseData['body'],
  max: number,
): Promise<{ text: string; complete: boolean }> {
  const chunks: Buffer[] = []
  let size = 0
  let complete = true
  // Destroying an unfinished body emits an abort error; it is the intended end, not a failure.
  body.on('error', () => undefined)
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = max - size
    chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk)
    size += Math.min(chunk.length, room)
    if (chunk.length > room) {
      complete = false
      break
    }
  }
  if (!complete) body.destroy()
  return { text: Buffer.concat(chunks, size).toString('utf8'), complete }
}

function classify(
  status: number,
  headers: Dispatcher.ResponseData['headers'],
  latencyMs: number,
  responseBody: string,
): AttemptResult {
  const base = { status, latencyMs, responseBody }
  if (status >= 200 && status < 300) return { outcome: 'success', ...base }
  if (status === 410) return { outcome: 'disable', ...base, error: 'HTTP 410: the receiver is gone' }
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(headers['retry-after'])
    const result: AttemptResult = { outcome: 'retry', ...base, error: `HTTP ${status}` }
    if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs
    return result
  }
  if (status >= 300 && status < 400) {
    return { outcome: 'retry', ...base, error: `HTTP ${status}: redirect not followed` }
  }
  return { outcome: 'retry', ...base, error: `HTTP ${status}` }
}

/** `promise`, or a rejection as soon as `signal` aborts (a DNS lookup cannot be cancelled). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** One short line: what went wrong, never a stack. */
function describe(e: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `timed out after ${timeoutMs} ms`
  const err = e as { code?: unknown; message?: unknown; details?: { reason?: unknown }; cause?: unknown }
  const reason = err?.details?.reason
  if (reason === 'blocked_address') return 'blocked address: the host is not a public address'
  if (reason === 'dns_failure') return 'dns failure: the host could not be resolved'
  const code = typeof err?.code === 'string' ? err.code : undefined
  const cause = err?.cause as { code?: unknown } | undefined
  const causeCode = typeof cause?.code === 'string' ? cause.code : undefined
  const message = typeof err?.message === 'string' ? (err.message.split('\n')[0] ?? '') : String(e)
  const text = [causeCode ?? code, message].filter((s) => s !== undefined && s !== '').join(': ')
  return text.length > 200 ? `${text.slice(0, 197)}...` : text || 'connection failed'
}
