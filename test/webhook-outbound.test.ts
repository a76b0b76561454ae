/**
 * One webhook attempt against real HTTP receivers on 127.0.0.1 (allowed by the policy):
 * how each answer is classified, that redirects are not followed, that the attempt is
 * bounded in time and in the bytes it reads, and what a refused connection gives.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { type AttemptResult, sendWebhook, USER_AGENT } from '../packages/cms/src/webhooks/outbound.js'
import { parseRetryAfter } from '../packages/cms/src/webhooks/retry-after.js'
import { parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { closedPort, type Handler, type Receiver, startReceiver } from './webhook-receiver.js'

const LOCAL = parseAllowHosts('127.0.0.1')
const BODY = JSON.stringify({ type: 'entries.publish', data: { id: 'e1' } })
const receivers: Receiver[] = []
after(async () => {
  for (const r of receivers) await r.close()
})

async function receiver(handler: Handler): Promise<Receiver> {
  const r = await startReceiver(handler)
  receivers.push(r)
  return r
}

function answer(status: number, headers: Record<string, string> = {}, body = ''): Handler {
  return (_req, res) => {
    res.writeHead(status, headers)
    res.end(body)
  }
}

function post(
  r: Receiver,
  extra: { timeoutMs?: number; maxResponseBytes?: number } = {},
): Promise<AttemptResult> {
  return sendWebhook(
    {
      url: new URL(`${r.origin}/hook`),
      headers: { 'webhook-id': 'msg_1', Host: 'evil.example' },
      body: BODY,
      ...extra,
    },
    LOCAL,
  )
}

describe('sendWebhook', () => {
  it('2xx is success: POST, JSON, the user agent, the caller headers (not its Host), the body', async () => {
    const r = await receiver(answer(204))
    const res = await post(r)
    assert.equal(res.outcome, 'success', res.error)
    assert.equal(res.status, 204)
    assert.ok(res.latencyMs >= 0 && res.latencyMs < 5000)
    assert.equal(r.requests.length, 1)
    const [got] = r.requests
    assert.equal(got?.method, 'POST')
    assert.equal(got?.path, '/hook')
    assert.equal(got?.headers['content-type'], 'application/json')
    assert.match(got?.headers['user-agent'] ?? '', /^audited-webhooks\/\d+\.\d+\.\d+/)
    assert.equal(got?.headers['user-agent'], USER_AGENT)
    assert.equal(got?.headers['webhook-id'], 'msg_1')
    assert.equal(got?.headers.host, `127.0.0.1:${r.port}`)
    assert.equal(got?.body, BODY)
  })

  it('a 3xx is a failure to retry and is not followed: the redirect target gets no request', async () => {
    const target = await receiver(answer(200))
    for (const status of [301, 302, 303, 307, 308]) {
      const r = await receiver(answer(status, { location: `${target.origin}/stolen` }))
      const res = await post(r)
      assert.equal(res.outcome, 'retry', String(status))
      assert.equal(res.status, status)
      assert.match(res.error ?? '', /redirect not followed/)
    }
    assert.equal(target.requests.length, 0)
  })

  it('410 Gone disables the webhook', async () => {
    const res = await post(await receiver(answer(410, {}, 'gone')))
    assert.equal(res.outcome, 'disable')
    assert.equal(res.status, 410)
    assert.equal(res.responseBody, 'gone')
  })

  it('429 and 503 are retried after Retry-After, in seconds or as an HTTP-date', async () => {
    const seconds = await post(await receiver(answer(429, { 'retry-after': '120' })))
    assert.deepEqual([seconds.outcome, seconds.status, seconds.retryAfterMs], ['retry', 429, 120_000])
    const when = new Date(Date.now() + 90_000).toUTCString()
    const date = await post(await receiver(answer(503, { 'retry-after': when })))
    assert.equal(date.outcome, 'retry')
    assert.equal(date.status, 503)
    assert.ok(date.retryAfterMs !== undefined && date.retryAfterMs > 80_000 && date.retryAfterMs <= 90_000)
    const huge = await post(await receiver(answer(429, { 'retry-after': '999999999' })))
    assert.equal(huge.retryAfterMs, 24 * 3600 * 1000)
    const junk = await post(await receiver(answer(503, { 'retry-after': 'soon' })))
    assert.deepEqual([junk.outcome, junk.retryAfterMs], ['retry', undefined])
    const none = await post(await receiver(answer(429)))
    assert.deepEqual([none.outcome, none.retryAfterMs], ['retry', undefined])
  })

  it('Retry-After: only digits or an HTTP-date; a past date is 0; capped at 24 h', () => {
    const now = Date.UTC(2025, 0, 1)
    assert.equal(parseRetryAfter('0', now), 0)
    assert.equal(parseRetryAfter(' 5 ', now), 5000)
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000)
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0)
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', now), 86_400_000)
    for (const bad of ['-1', '1.5', '1e3', '', 'soon', 'Wed, 99 Foo 2025', '2025-01-02T00:00:00Z']) {
      assert.equal(parseRetryAfter(bad, now), undefined, bad)
    }
    assert.equal(parseRetryAfter(undefined, now), undefined)
    assert.equal(parseRetryAfter(['7', '9'], now), 7000)
  })

  it('500 and other statuses are retried and carry the (short) status text', async () => {
    for (const status of [400, 404, 500, 502]) {
      const res = await post(await receiver(answer(status, {}, 'boom')))
      assert.deepEqual(
        [res.outcome, res.status, res.error, res.responseBody],
        ['retry', status, `HTTP ${status}`, 'boom'],
      )
    }
  })

  it('a receiver that never answers is cut off at timeoutMs', async () => {
    const r = await receiver(() => undefined)
    const started = Date.now()
    const res = await post(r, { timeoutMs: 300 })
    const took = Date.now() - started
    assert.equal(res.outcome, 'retry')
    assert.equal(res.status, undefined)
    assert.match(res.error ?? '', /timed out after 300 ms/)
    assert.ok(took >= 280 && took < 2000, `took ${took} ms`)
  })

  it('the timeout covers the body too: headers at once, then a trickle that never ends', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      const tick = setInterval(() => res.write('.'), 50)
      res.on('close', () => clearInterval(tick))
    })
    const started = Date.now()
    const res = await post(r, { timeoutMs: 400 })
    assert.equal(res.outcome, 'retry')
    assert.match(res.error ?? '', /timed out/)
    assert.ok(Date.now() - started < 2000)
  })

  it('a 10 MB answer is read only up to maxResponseBytes, and the connection is dropped', async () => {
    const total = 10 * 1024 * 1024
    let sent = 0
    let closedEarly: Promise<boolean> = Promise.resolve(false)
    const r = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) })
      const chunk = Buffer.alloc(64 * 1024, 'x')
      closedEarly = new Promise((resolve) => res.on('close', () => resolve(!res.writableFinished)))
      const pump = () => {
        while (sent < total && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        if (sent >= total) res.end()
      }
      pump()
    })
    const res = await post(r, { maxResponseBytes: 1000 })
    assert.equal(res.outcome, 'success', res.error)
    assert.equal(res.responseBody, 'x'.repeat(1000))
    assert.equal(await closedEarly, true, 'the receiver saw the connection go before its body was all sent')
    assert.ok(sent < total, `sent ${sent} of ${total} bytes`)
    const kept = await post(await receiver(answer(200, {}, 'y'.repeat(70_000))))
    assert.equal(kept.responseBody?.length, 65_536, 'the default limit is 64 KiB')
    const zero = await post(await receiver(answer(200, {}, 'z')), { maxResponseBytes: 0 })
    assert.deepEqual([zero.outcome, zero.responseBody], ['success', ''])
  })

  it('a refused connection is retried with a short error', async () => {
    const port = await closedPort()
    const res = await sendWebhook(
      { url: new URL(`http://127.0.0.1:${port}/`), headers: {}, body: '{}' },
      LOCAL,
    )
    assert.equal(res.outcome, 'retry')
    assert.equal(res.status, undefined)
    assert.match(res.error ?? '', /ECONNREFUSED/)
    assert.ok(!(res.error ?? '').includes('\n    at '), 'no stack')
    assert.ok((res.error ?? '').length <= 200)
  })

  it('what no retry fixes is a failure: another scheme, or credentials in the URL', async () => {
    const ftp = await sendWebhook({ url: new URL('ftp://127.0.0.1/'), headers: {}, body: '{}' }, LOCAL)
    assert.equal(ftp.outcome, 'failure')
    const creds = await sendWebhook(
      { url: new URL('http://u:p@127.0.0.1:1/'), headers: {}, body: '{}' },
      LOCAL,
    )
    assert.equal(creds.outcome, 'failure')
  })
})
