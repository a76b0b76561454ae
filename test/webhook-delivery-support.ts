/** Shared by the webhook delivery tests: a verifying receiver and waiting helpers. */
import type { ServerResponse } from 'node:http'
import { Webhook } from 'standardwebhooks'
import type { HttpFixture } from './http-setup.js'
import { type ReceivedRequest, type Receiver, startReceiver } from './webhook-receiver.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** A receiver whose answers the test scripts (`answer`), recording each delivery. */
export async function scriptedReceiver(
  answer: (req: ReceivedRequest, res: ServerResponse) => void = (_q, res) => {
    res.writeHead(204).end()
  },
): Promise<Receiver & { setAnswer(a: typeof answer): void }> {
  let current = answer
  const r = await startReceiver((req, res) => current(req, res))
  return Object.assign(r, {
    setAnswer: (a: typeof answer) => {
      current = a
    },
  })
}

/** Verifies a delivery with the Standard Webhooks reference verifier; returns its body. */
export function verified(
  secret: string,
  req: ReceivedRequest,
): { type: string; timestamp: string; data: Record<string, unknown> } {
  const headers = {
    'webhook-id': String(req.headers['webhook-id']),
    'webhook-timestamp': String(req.headers['webhook-timestamp']),
    'webhook-signature': String(req.headers['webhook-signature']),
  }
  return new Webhook(secret).verify(req.body, headers) as never
}

export async function subscribe(
  f: HttpFixture,
  url: string,
  events: string[],
  extra: Record<string, unknown> = {},
): Promise<{ id: string; secret: string }> {
  const res = await f.call('POST', '/api/v1/webhooks', { body: { url, events, ...extra } })
  if (res.status !== 201) throw new Error(`subscribe: ${res.status} ${JSON.stringify(res.body)}`)
  return { id: res.body.id, secret: res.body.secret }
}

let types = 0
/** A content type of its own (key `t<n>`) for a test's entries. */
export async function noteType(f: HttpFixture): Promise<string> {
  const key = `wh${Date.now().toString(36)}${types++}`
  const res = await f.call('POST', '/api/v1/content-types', {
    body: { key, name: key, fields: [{ name: 'title', type: 'string', required: true }] },
  })
  if (res.status !== 201) throw new Error(`content type: ${res.status} ${JSON.stringify(res.body)}`)
  return key
}

export async function deliveries(f: HttpFixture, webhookId: string, status?: string) {
  const res = await f.call(
    'GET',
    `/api/v1/webhooks/${webhookId}/deliveries${status ? `?status=${status}` : ''}`,
  )
  if (res.status !== 200) throw new Error(`deliveries: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.items as {
    id: string
    eventId: string
    type: string
    status: string
    attemptCount: number
    nextAttemptAt: string | null
    attempts: {
      at: string
      outcome: string
      status: number | null
      latencyMs: number
      error: string | null
    }[]
  }[]
}
