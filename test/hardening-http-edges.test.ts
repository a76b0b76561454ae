/**
 * HTTP edges of issue 7: an empty JSON body where none is needed (R12), answers at the
 * HTTP layer in the catalogue envelope (R11).
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { it } from 'node:test'
import { forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http edges', (f) => {
  it('R12: DELETE and publish sent with Content-Type: application/json and no body are accepted', async () => {
    const json = { 'content-type': 'application/json' }
    const type = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'note', name: 'Note', fields: [{ name: 'title', type: 'string', required: true }] },
    })
    assert.equal(type.status, 201, JSON.stringify(type.body))
    const entry = await f.call('POST', '/api/v1/entries/note', { body: { data: { title: 'hello' } } })
    assert.equal(entry.status, 201, JSON.stringify(entry.body))
    const url = `/api/v1/entries/note/${entry.body.id}`
    const published = await f.call('POST', `${url}/publish`, { headers: json })
    assert.equal(published.status, 200, JSON.stringify(published.body))
    assert.equal(published.body.status, 'published')
    const deleted = await f.call('DELETE', url, { headers: json })
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body))
    assert.equal((await f.call('GET', url)).status, 404)
    // a body that is there must still be JSON, and a route that needs one still says so
    const broken = await f.call('POST', '/api/v1/locales', { headers: json, body: undefined })
    assert.equal(broken.status, 400)
    assert.equal(broken.body.error.code, 'validation')
    const malformed = await f.app.inject({
      method: 'POST',
      url: '/api/v1/locales',
      headers: { ...json, authorization: `Bearer ${f.adminToken}` },
      payload: '{"code":',
    })
    assert.equal(malformed.statusCode, 400)
    assert.equal(JSON.parse(malformed.body).error.code, 'validation')
  })
})

/** Sends raw bytes over a real socket; resolves with everything the server sent, and
 * whether the connection ended in an error (a reset) rather than a clean close. */
async function rawExchange(
  port: number,
  send: (socket: Socket) => Promise<void> | void,
): Promise<{ response: string; reset: boolean }> {
  const socket = connect(port, '127.0.0.1')
  let response = ''
  let reset = false
  socket.on('data', (chunk: Buffer) => {
    response += chunk.toString()
  })
  socket.on('error', () => {
    reset = true
  })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await send(socket)
  await closed
  return { response, reset }
}

function envelope(response: string): { code: string; message: string; requestId: string } {
  return (JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { error: never }).error
}

forEachHttpDialect('http edges over a socket', (f) => {
  let port = 0
  it('R11: a body over the limit answers 413 in the catalogue envelope, read to the end, without a reset', async () => {
    await f.app.listen({ port: 0, host: '127.0.0.1' })
    port = (f.app.server.address() as { port: number }).port
    const size = 12 * 1024 * 1024
    const { response, reset } = await rawExchange(port, async (socket) => {
      socket.write(
        `POST /api/v1/locales HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`,
      )
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      for (let sent = 0; sent < size; sent += chunk.length) {
        if (!socket.writable) break
        if (!socket.write(chunk))
          await new Promise((r) => {
            socket.once('drain', r)
            socket.once('close', r)
          })
      }
    })
    assert.match(response, /^HTTP\/1\.1 413 /, response.slice(0, 200))
    const error = envelope(response)
    assert.equal(error.code, 'validation')
    assert.ok(error.requestId)
    assert.equal(reset, false, 'the upload ended cleanly, not with a reset')
  })

  it("R11: Node's own 400 (malformed request line) and 431 (headers too large) use the envelope", async () => {
    const bad = await rawExchange(port, (socket) => {
      socket.write('THIS IS NOT HTTP\r\n\r\n')
    })
    assert.match(bad.response, /^HTTP\/1\.1 400 /, bad.response)
    assert.equal(envelope(bad.response).code, 'validation')
    const big = await rawExchange(port, (socket) => {
      socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`)
    })
    assert.match(big.response, /^HTTP\/1\.1 431 /, big.response.slice(0, 200))
    assert.equal(envelope(big.response).code, 'validation')
  })
})
