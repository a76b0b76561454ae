/**
 * The live stream under stress, over a listening server with real clients: 1,000 forced
 * disconnects during continuous writes lose and duplicate nothing (the `eventsource`
 * client reconnects with Last-Event-ID by itself); a client that stops reading is cut
 * instead of buffered, and resumes from the last id it got; shutdown ends every stream.
 */
import assert from 'node:assert/strict'
import { get, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { forEachHttpDialect } from './http-setup.js'
import {
  contentType,
  createEntry,
  eventsSince,
  listEvents,
  listen,
  opened,
  openStream,
} from './http-sse-support.js'

const CUTS = Number(process.env.SSE_CUTS ?? 1000)

/** Polls `done` until true (rejects after `ms`). */
async function until(done: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`)
    await sleep(5)
  }
}

/** A raw stream response (node:http, which de-chunks), paused until asked. */
function rawStream(
  base: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = get(`${base}/api/v1/audit/stream`, {
      headers: { authorization: `Bearer ${token}`, ...headers },
    })
    req.on('response', resolve)
    req.on('error', reject)
  })
}

/** Everything `res` delivers until its connection closes, and whether it ended cleanly. */
function drain(res: IncomingMessage): Promise<{ text: string; complete: boolean }> {
  return new Promise((resolve) => {
    let text = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      text += chunk
    })
    res.on('error', () => {})
    res.on('close', () => resolve({ text, complete: res.complete }))
    res.resume()
  })
}

/** The change frames received whole: [id, eventId]. */
function changeFrames(text: string): [string, string][] {
  const frames = text.split('\n\n').slice(0, -1)
  return frames
    .filter((frame) => frame.includes('\nevent: change\n'))
    .map((frame) => {
      const id = /^id: (.*)$/m.exec(frame)![1]!
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as { eventId: string }
      return [id, data.eventId]
    })
}

forEachHttpDialect('live event stream under stress', (f) => {
  it(`${CUTS} forced disconnects during continuous writes lose and duplicate no event`, async () => {
    await contentType(f, 'sse_bulk')
    const server = await listen(f, { retryMs: 1 })
    // Four streams, each cut from the server side every two events it receives on its
    // live connection (frames of a cut one may still be parsed): CUTS in all.
    const current = new Map<string, Socket>()
    server.app.server.on('request', (req) => {
      const id = req.headers['x-request-id']
      if (req.url?.startsWith('/api/v1/audit/stream') && typeof id === 'string') current.set(id, req.socket)
    })
    let cuts = 0
    const before = await listEvents(f)
    const streams = Array.from({ length: 4 }, (_, k) => {
      let sinceCut = 0
      return openStream(server.base, f.adminToken, '', {
        headers: { 'x-request-id': `stream-${k}` },
        onChange: () => {
          const socket = current.get(`stream-${k}`)
          if (cuts >= CUTS || socket === undefined || socket.destroyed || ++sinceCut < 2) return
          socket.destroy()
          cuts++
          sinceCut = 0
        },
      })
    })
    await Promise.all(streams.map((s) => opened(s)))
    let writing = true
    const written: string[][] = Array.from({ length: 4 }, () => [])
    const writers = written.map(async (ids, w) => {
      for (let i = 0; writing; i++) ids.push(await createEntry(f, 'sse_bulk', `writer ${w} entry ${i}`))
    })
    const started = Date.now()
    await until(
      () => cuts >= CUTS,
      90_000,
      () => `${CUTS} disconnects (${cuts} so far)`,
    )
    writing = false
    await Promise.all(writers)
    const expected = await eventsSince(f, before)
    assert.equal(
      expected.length,
      written.reduce((n, ids) => n + ids.length, 0),
    )
    for (const stream of streams) await stream.until(expected.length, 30_000)
    await sleep(200) // a duplicate would arrive by now
    for (const stream of streams) stream.close()
    await server.app.close()
    for (const stream of streams) {
      const got = stream.received.map((r) => r.event.eventId)
      assert.equal(new Set(got).size, got.length, 'no event twice')
      assert.deepEqual(new Set(got), new Set(expected.map((e) => e.eventId)), 'every committed event once')
      // Each writer's entries in the order it wrote them (the stream is in commit order).
      const order = stream.received.map((r) => r.event.recordId)
      for (const ids of written) {
        assert.deepEqual(
          order.filter((id) => ids.includes(id)),
          ids,
        )
      }
    }
    const seen = streams.reduce((n, s) => n + s.errors, 0)
    assert.ok(seen >= CUTS, `the clients saw ${seen} disconnects`)
    console.log(`# ${f.name}: ${CUTS} disconnects, ${expected.length} events in ${Date.now() - started} ms`)
  })

  it('disconnects a client that stops reading; it resumes from the last id it got', async () => {
    const fields = Array.from({ length: 5 }, (_, i) => ({ name: `b${i}`, type: 'text' }))
    const type = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'sse_big', name: 'big', fields },
    })
    assert.equal(type.status, 201, JSON.stringify(type.body))
    const bound = 256 * 1024
    const server = await listen(f, { maxBufferedBytes: bound })
    const slowDisconnects = async () => {
      const text = await (await fetch(`${server.base}/metrics`)).text()
      return Number(/^audited_event_stream_slow_disconnects_total (\d+)/m.exec(text)?.[1] ?? 0)
    }
    const before = await listEvents(f)
    const res = await rawStream(server.base, f.adminToken)
    assert.equal(res.statusCode, 200)
    res.pause() // reads nothing more: the kernel buffers fill, then the server's bound
    const data = Object.fromEntries(fields.map((field, i) => [field.name, String(i).repeat(100_000)]))
    let writes = 0
    while ((await slowDisconnects()) === 0) {
      assert.ok(writes < 400, `no disconnect after ${writes} writes of ~500 KB`)
      const created = await f.call('POST', '/api/v1/entries/sse_big', { body: { data } })
      assert.equal(created.status, 201)
      writes++
    }
    const { text } = await drain(res)
    const metrics = await (await fetch(`${server.base}/metrics`)).text()
    assert.match(metrics, /^audited_event_streams 0$/m, 'the cut stream holds nothing any more')
    const frames = changeFrames(text)
    const expected = (await eventsSince(f, before)).map((e) => e.eventId)
    assert.equal(expected.length, writes)
    assert.ok(frames.length < writes, `cut before the end: ${frames.length} of ${writes}`)
    assert.deepEqual(
      frames.map(([, eventId]) => eventId),
      expected.slice(0, frames.length),
      'what arrived is a prefix of the feed',
    )
    const lastId = frames.at(-1)?.[0] ?? /^id: (.*)$/m.exec(text)![1]!
    const resumed = openStream(server.base, f.adminToken, '', { lastEventId: lastId })
    const rest = expected.slice(frames.length)
    await resumed.until(rest.length, 60_000)
    resumed.close()
    assert.deepEqual(
      resumed.received.map((r) => r.event.eventId),
      rest,
    )
    await server.app.close()
    console.log(`# ${f.name}: cut after ${writes} writes, ${frames.length} events received before`)
  })

  it('shutdown ends every open stream promptly and cleanly', async () => {
    const server = await listen(f) // the default 15 s heartbeat: nothing else would end them
    const readers = await Promise.all(Array.from({ length: 5 }, () => rawStream(server.base, f.adminToken)))
    const ends = readers.map(drain)
    const source = openStream(server.base, f.adminToken)
    await opened(source)
    const started = Date.now()
    await server.app.close()
    const ms = Date.now() - started
    source.close()
    const ended = await Promise.all(ends)
    assert.ok(ms < 2000, `close took ${ms} ms`)
    for (const e of ended) {
      assert.equal(e.complete, true, 'the response ended (not cut)')
      assert.match(e.text, /event: ready/)
    }
  })
})
