/**
 * Helpers of the live-stream tests: a listening app over the fixture's database, the
 * `eventsource` package as the client (the contract's own reference client), and writes
 * through the API.
 */
import assert from 'node:assert/strict'
import { EventSource } from 'eventsource'
import type { ChangeEvent } from '../packages/audited/src/audit/change-event.js'
import { type App, buildApp } from '../packages/cms/src/server/app.js'
import type { LiveOptions } from '../packages/cms/src/server/stream-hub.js'
import type { HttpFixture } from './http-setup.js'

export interface Listening {
  readonly app: App
  readonly base: string
}

/** A second app on the fixture's database and auditor, listening on a free port. */
export async function listen(f: HttpFixture, live: LiveOptions = {}): Promise<Listening> {
  const app = buildApp({ db: f.db, auditor: f.auditor, live })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, base: address }
}

export interface Received {
  readonly id: string
  readonly event: ChangeEvent
}

export interface Stream {
  readonly source: EventSource
  readonly received: Received[]
  /** Times the client saw its connection fail (it reconnects by itself). */
  errors: number
  /** Resolves once `n` change events arrived (rejects after `ms`). */
  until(n: number, ms?: number): Promise<void>
  close(): void
}

/**
 * An EventSource on `/api/v1/audit/stream` with a bearer token (and a first
 * `Last-Event-ID`, as a browser would send after a reconnect).
 */
export function openStream(
  base: string,
  token: string,
  query = '',
  options: {
    lastEventId?: string
    headers?: Record<string, string>
    onChange?: (r: Received, s: Stream) => void
  } = {},
): Stream {
  let first = true
  const source = new EventSource(`${base}/api/v1/audit/stream${query}`, {
    fetch: (url, init) => {
      const headers: Record<string, string> = {
        ...(init.headers as Record<string, string>),
        ...options.headers,
      }
      headers.authorization = `Bearer ${token}`
      if (first && options.lastEventId !== undefined) headers['Last-Event-ID'] = options.lastEventId
      first = false
      return fetch(url, { ...init, headers })
    },
  })
  const waiters = new Set<() => void>()
  const stream: Stream = {
    source,
    received: [],
    errors: 0,
    until(n, ms = 20_000) {
      if (stream.received.length >= n) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`${stream.received.length} of ${n} events after ${ms} ms`))
        }, ms)
        const check = () => {
          if (stream.received.length < n) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
      })
    },
    close: () => source.close(),
  }
  source.addEventListener('change', (message) => {
    const r = { id: message.lastEventId, event: JSON.parse(message.data) as ChangeEvent }
    stream.received.push(r)
    options.onChange?.(r, stream)
    for (const check of [...waiters]) check()
  })
  source.addEventListener('error', () => {
    stream.errors++
  })
  return stream
}

/** Resolves once the stream's first message (`ready`) arrived: it follows from then on. */
export function opened(stream: Stream, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stream did not open')), ms)
    stream.source.addEventListener(
      'ready',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

/** A content type `key` with one text field `body`. */
export async function contentType(f: HttpFixture, key: string, token?: string): Promise<void> {
  const res = await f.call('POST', '/api/v1/content-types', {
    ...(token === undefined ? {} : { token }),
    body: { key, name: key, fields: [{ name: 'body', type: 'text' }] },
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
}

/** Creates an entry through the API; its id. */
export async function createEntry(
  f: HttpFixture,
  key: string,
  body: string,
  token?: string,
): Promise<string> {
  const res = await f.call('POST', `/api/v1/entries/${key}`, {
    ...(token === undefined ? {} : { token }),
    body: { data: { body } },
  })
  assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 300))
  return res.body.id
}

/** Every event of the caller's tenant (list route, page by page), with `query`'s filters. */
export async function listEvents(f: HttpFixture, query = ''): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = []
  let after = ''
  for (;;) {
    const res = await f.call('GET', `/api/v1/audit/events?limit=1000${query}${after}`)
    assert.equal(res.status, 200, JSON.stringify(res.body))
    out.push(...res.body.items)
    if (!res.body.hasMore) return out
    after = `&after=${encodeURIComponent(res.body.nextCursor)}`
  }
}

/** The events listed now that were not listed `before`, in list order. */
export async function eventsSince(
  f: HttpFixture,
  before: readonly ChangeEvent[],
  query = '',
): Promise<ChangeEvent[]> {
  const seen = new Set(before.map((e) => e.eventId))
  return (await listEvents(f, query)).filter((e) => !seen.has(e.eventId))
}
