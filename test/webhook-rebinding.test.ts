/**
 * DNS rebinding: a delivery resolves its host once, vets every answer, and connects to exactly
 * the vetted address; a second, different answer is never asked for, so it is never reached.
 * Real receivers on loopback addresses; the DNS is an injected lookup that counts its calls
 * and changes its answer after the first one, as a rebinding attacker's server would.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { after, describe, it } from 'node:test'
import { sendWebhook } from '../packages/cms/src/webhooks/outbound.js'
import { type LookupFn, parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { type Receiver, startReceiver } from './webhook-receiver.js'

const receivers: Receiver[] = []
after(async () => {
  for (const r of receivers) await r.close()
})

async function receiver(host: string, port = 0): Promise<Receiver> {
  const r = await startReceiver((_req, res) => res.writeHead(200).end(host), host, port)
  receivers.push(r)
  return r
}

/** Answers `answers[i]` on call i (the last one from then on) and counts the calls. */
function rebindingDns(...answers: string[][]): LookupFn & { calls: number } {
  const fn = async () => {
    const list = answers[Math.min(state.calls, answers.length - 1)] ?? []
    state.calls++
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  const state = Object.assign(fn, { calls: 0 })
  return state
}

/** A real receiver on 127.0.0.1 and a decoy on 127.0.0.2 on the same port. */
async function pair(): Promise<{ real: Receiver; decoy: Receiver }> {
  const decoy = await receiver('127.0.0.2')
  const real = await receiver('127.0.0.1', decoy.port)
  return { real, decoy }
}

function deliver(host: string, port: number, policy: string, lookup: LookupFn, timeoutMs = 5000) {
  const url = new URL(`http://${host}:${port}/hook`)
  return sendWebhook({ url, headers: {}, body: '{}', timeoutMs }, parseAllowHosts(policy), { lookup })
}

describe('DNS rebinding', () => {
  it('a name resolving to 127.0.0.1 that is not allowed is blocked before any connection', async () => {
    const { real } = await pair()
    const dns = rebindingDns(['127.0.0.1'])
    const res = await deliver('hooks.example.com', real.port, '', dns)
    assert.equal(res.outcome, 'retry')
    assert.match(res.error ?? '', /blocked address/)
    assert.ok(!(res.error ?? '').includes('127.0.0.1'), 'the error does not reveal the address')
    assert.equal(dns.calls, 1)
    assert.equal(real.requests.length, 0)
  })

  it('public and private answers mixed: blocked, nothing is dialled', async () => {
    const { real, decoy } = await pair()
    for (const answers of [
      ['93.184.216.34', '127.0.0.1'],
      ['127.0.0.2', '93.184.216.34'],
    ]) {
      const res = await deliver('mixed.example.com', real.port, '', rebindingDns(answers))
      assert.equal(res.outcome, 'retry', answers.join(','))
      assert.match(res.error ?? '', /blocked address/)
    }
    assert.equal(real.requests.length + decoy.requests.length, 0)
  })

  it('an allowed name is dialled at the vetted address, with its own Host; DNS is asked once', async () => {
    const { real, decoy } = await pair()
    const dns = rebindingDns(['127.0.0.1'], ['127.0.0.2'])
    const res = await deliver('receiver.test', real.port, 'receiver.test', dns)
    assert.equal(res.outcome, 'success', res.error)
    assert.equal(res.responseBody, '127.0.0.1')
    assert.equal(dns.calls, 1, 'resolved once per attempt')
    assert.equal(real.requests.length, 1)
    assert.equal(real.requests[0]?.headers.host, `receiver.test:${real.port}`)
    assert.equal(decoy.requests.length, 0)
  })

  it('the vetted answer is allowed, the next one is not: the connection still goes to the vetted one', async () => {
    // Only the address 127.0.0.1 is allowed (not the name): the first answer passes the
    // check; the rebinding answer 127.0.0.2 would not. Pinning means it is never looked up.
    const { real, decoy } = await pair()
    const dns = rebindingDns(['127.0.0.1'], ['127.0.0.2'])
    const first = await deliver('rebind.example.com', real.port, '127.0.0.1', dns)
    assert.equal(first.outcome, 'success', first.error)
    assert.equal(dns.calls, 1)
    assert.deepEqual([real.requests.length, decoy.requests.length], [1, 0])
    // The next attempt resolves again, gets the rebinding answer, and is blocked.
    const second = await deliver('rebind.example.com', real.port, '127.0.0.1', dns)
    assert.equal(second.outcome, 'retry')
    assert.match(second.error ?? '', /blocked address/)
    assert.equal(dns.calls, 2)
    assert.deepEqual([real.requests.length, decoy.requests.length], [1, 0])
  })

  it('https: the pinned connection still sends the URL name as SNI and checks the certificate', async () => {
    // A self-signed certificate for receiver.test (test/fixtures): the handshake reaches the
    // pinned address with SNI receiver.test, and the client refuses the untrusted certificate.
    const sni: string[] = []
    const server = createTlsServer(
      {
        key: readFileSync(new URL('./fixtures/webhook-tls-key.pem', import.meta.url)),
        cert: readFileSync(new URL('./fixtures/webhook-tls-cert.pem', import.meta.url)),
        SNICallback: (name, cb) => {
          sni.push(name)
          cb(null)
        },
      },
      (_req, res) => res.writeHead(200).end(),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const url = new URL(`https://receiver.test:${port}/hook`)
      const dns = rebindingDns(['127.0.0.1'])
      const res = await sendWebhook(
        { url, headers: {}, body: '{}', timeoutMs: 5000 },
        parseAllowHosts('receiver.test'),
        {
          lookup: dns,
        },
      )
      assert.equal(res.outcome, 'retry')
      assert.match(res.error ?? '', /SELF_SIGNED|certificate/i)
      assert.deepEqual(sni, ['receiver.test'])
      assert.equal(dns.calls, 1)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('a lookup that never answers is bounded by the attempt timeout', async () => {
    const hang: LookupFn = () => new Promise(() => undefined)
    const started = Date.now()
    const res = await deliver('slow.example.com', 9, 'slow.example.com', hang, 200)
    assert.equal(res.outcome, 'retry')
    assert.match(res.error ?? '', /timed out after 200 ms/)
    assert.ok(Date.now() - started < 2000)
  })

  it('a failing lookup is a retry with a dns failure', async () => {
    const fail: LookupFn = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })
    }
    const res = await deliver('nowhere.example.com', 9, '', fail)
    assert.deepEqual([res.outcome, res.error], ['retry', 'dns failure: the host could not be resolved'])
  })
})
