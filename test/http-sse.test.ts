/**
 * The live stream's contract (`GET /api/v1/audit/stream`), with the `eventsource` package
 * as the client over a listening server: events in order with id / event / data as the
 * event route answers them, only the caller's tenant, filters, roles, bad input before the
 * stream starts, resuming with Last-Event-ID and ?after=, and the heartbeat comment.
 */
import assert from 'node:assert/strict'
import { get } from 'node:http'
import { after, before, it } from 'node:test'
import { tokens } from '../packages/cms/src/cms/entities.js'
import { newApiToken } from '../packages/cms/src/cms/secrets.js'
import { newRecordId } from '../packages/cms/src/server/resource.js'
import { newTenant } from './http-audit-support.js'
import { apiToken, forEachHttpDialect } from './http-setup.js'
import {
  contentType,
  createEntry,
  eventsSince,
  type Listening,
  listEvents,
  listen,
  opened,
  openStream,
} from './http-sse-support.js'

forEachHttpDialect('live event stream', (f) => {
  let server: Listening
  before(async () => {
    server = await listen(f, { heartbeatMs: 50 })
    await contentType(f, 'sse_note')
  })
  after(async () => {
    await server?.app.close()
  })

  it("sends the tenant's events in order, each as the event route answers it, and only the tenant's", async () => {
    const before = await listEvents(f)
    const stream = openStream(server.base, f.adminToken)
    await opened(stream)
    const other = await newTenant(f, `SSE other ${f.name}`)
    const ids = [await createEntry(f, 'sse_note', 'one'), await createEntry(f, 'sse_note', 'two')]
    await apiToken(f, other, 'viewer') // an event of another tenant, never sent here
    const update = await f.call('PATCH', `/api/v1/entries/sse_note/${ids[0]}`, {
      body: { data: { body: 'one, edited' } },
    })
    assert.equal(update.status, 200, JSON.stringify(update.body))
    const expected = await eventsSince(f, before)
    assert.ok(expected.length >= 3)
    await stream.until(expected.length)
    stream.close()
    assert.deepEqual(
      stream.received.map((r) => r.event.eventId),
      expected.map((e) => e.eventId),
    )
    for (const r of stream.received) {
      assert.equal(r.event.tenantId, f.tenantId)
      const one = await f.call('GET', `/api/v1/audit/events/${r.event.eventId}`)
      assert.deepEqual(r.event, one.body, 'data is the event as GET /audit/events/:id answers it')
      assert.ok(r.id.length > 0 && !('cursor' in r.event))
    }
    assert.equal(new Set(stream.received.map((r) => r.id)).size, stream.received.length, 'ids are distinct')
  })

  it('filters by table, action and recordId', async () => {
    const id = await createEntry(f, 'sse_note', 'filtered')
    const updates = openStream(server.base, f.adminToken, '?table=entries&action=update')
    const record = openStream(server.base, f.adminToken, `?table=entries&recordId=${id}`)
    await Promise.all([opened(updates), opened(record)])
    await createEntry(f, 'sse_note', 'not this one')
    for (let version = 1; version <= 2; version++) {
      const res = await f.call('PATCH', `/api/v1/entries/sse_note/${id}`, {
        body: { data: { body: `v${version + 1}` } },
      })
      assert.equal(res.status, 200, JSON.stringify(res.body))
    }
    await Promise.all([updates.until(2), record.until(2)])
    await createEntry(f, 'sse_note', 'a create: neither stream wants it')
    // A marker both streams want: anything unwanted before it would have arrived first.
    assert.equal((await f.call('DELETE', `/api/v1/entries/sse_note/${id}`)).status, 204)
    await record.until(3)
    updates.close()
    record.close()
    assert.ok(updates.received.every((r) => r.event.table === 'entries' && r.event.action === 'update'))
    assert.ok(record.received.every((r) => r.event.recordId === id))
    assert.deepEqual(
      record.received.map((r) => r.event.action),
      ['update', 'update', 'delete'],
    )
  })

  it('starts after every event committed before it opened, even one an open transaction holds back', async () => {
    // On PostgreSQL a transaction left open elsewhere holds back the events committed after
    // it began: the newest *final* event is then older than the entry created below, and a
    // stream that started there sent that create as new (CI saw it in the filter test).
    let release = () => {}
    const open = new Promise<void>((r) => {
      release = r
    })
    let began = () => {}
    const begun = new Promise<void>((r) => {
      began = r
    })
    // SQLite has one writer: a transaction held open there would block the create below, and
    // its feed holds nothing back, so there the test runs without one.
    const held =
      f.name === 'sqlite'
        ? Promise.resolve(began())
        : f.auditor.transaction(
            { tenantId: `hold-${f.name}`, actorId: 'test-setup', actorType: 'system' },
            async (tx) => {
              await tx.create(tokens, newApiToken(newRecordId(), 'viewer', 'held').row)
              began()
              await open
            },
          )
    await begun
    const id = await createEntry(f, 'sse_note', 'committed before the stream')
    const stream = openStream(server.base, f.adminToken, `?table=entries&recordId=${id}`)
    setTimeout(release, 300)
    await opened(stream)
    await held
    const res = await f.call('PATCH', `/api/v1/entries/sse_note/${id}`, { body: { data: { body: 'later' } } })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    await stream.until(1)
    assert.equal((await f.call('DELETE', `/api/v1/entries/sse_note/${id}`)).status, 204)
    await stream.until(2)
    stream.close()
    assert.deepEqual(
      stream.received.map((r) => r.event.action),
      ['update', 'delete'],
      'the create committed before the stream opened is not sent',
    )
  })

  it('resumes exactly after the event named by Last-Event-ID or ?after=', async () => {
    const before = await listEvents(f)
    const first = openStream(server.base, f.adminToken)
    await opened(first)
    for (let i = 0; i < 6; i++) await createEntry(f, 'sse_note', `resume ${i}`)
    const all = await eventsSince(f, before)
    await first.until(all.length)
    first.close()
    const at = first.received[2]!
    const byHeader = openStream(server.base, f.adminToken, '', { lastEventId: at.id })
    // The header wins over ?after= (a browser reconnects with the URL it was opened with).
    const byQuery = openStream(server.base, f.adminToken, `?after=${encodeURIComponent(at.id)}`)
    const both = openStream(
      server.base,
      f.adminToken,
      `?after=${encodeURIComponent(first.received[0]!.id)}`,
      {
        lastEventId: at.id,
      },
    )
    const rest = first.received.slice(3).map((r) => r.event.eventId)
    for (const s of [byHeader, byQuery, both]) {
      await s.until(rest.length)
      s.close()
      assert.deepEqual(
        s.received.map((r) => r.event.eventId),
        rest,
      )
    }
  })

  it('answers 401 without a token, 403 to an editor, 400 to bad filters or cursors, before streaming', async () => {
    const editor = await apiToken(f, f.tenantId, 'editor')
    const auditor = await apiToken(f, f.tenantId, 'auditor')
    const status = async (query: string, token: string | null, headers: Record<string, string> = {}) => {
      const res = await fetch(`${server.base}/api/v1/audit/stream${query}`, {
        headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
      })
      const type = res.headers.get('content-type') ?? ''
      // biome-ignore lint/suspicious/noExplicitAny: the error envelope, asserted field by field.
      const body: any = type.startsWith('application/json') ? await res.json() : undefined
      if (body === undefined) await res.body?.cancel()
      return { status: res.status, type, body }
    }
    assert.equal((await status('', null)).status, 401)
    assert.equal((await status('', editor)).status, 403)
    const ok = await status('', auditor)
    assert.equal(ok.status, 200)
    assert.match(ok.type, /^text\/event-stream/)
    const bad: [string, Record<string, string>, string | undefined][] = [
      ['?recordId=x', {}, 'table'],
      ['?after=not-a-cursor', {}, 'after'],
      ['', { 'last-event-id': 'not-a-cursor' }, 'Last-Event-ID'],
      ['?action=explode', {}, undefined],
      ['?table=', {}, undefined],
      ['?colour=red', {}, undefined],
    ]
    for (const [query, headers, field] of bad) {
      const res = await status(query, auditor, headers)
      assert.equal(res.status, 400, query)
      assert.equal(res.body?.error.code, 'validation', query)
      if (field !== undefined) assert.equal(res.body.error.details?.field, field, query)
    }
  })

  it('is in the OpenAPI document as a text/event-stream with its resume header', async () => {
    const doc = (await f.call('GET', '/openapi.json', { token: null })).body
    const op = doc.paths['/api/v1/audit/stream'].get
    assert.equal(op.operationId, 'streamEvents')
    assert.ok(op.responses['200'].content['text/event-stream'])
    const params = op.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)
    for (const p of [
      'query:table',
      'query:action',
      'query:recordId',
      'query:after',
      'header:last-event-id',
    ]) {
      assert.ok(params.includes(p), p)
    }
  })

  it('sends a heartbeat comment at the configured interval', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = get(
        `${server.base}/api/v1/audit/stream`,
        { headers: { authorization: `Bearer ${f.adminToken}` } },
        (res) => {
          let seen = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            seen += chunk
            if ((seen.match(/^: heartbeat$/gm) ?? []).length >= 2) {
              req.destroy()
              resolve(seen)
            }
          })
        },
      )
      req.on('error', reject)
      setTimeout(() => reject(new Error('no heartbeat within 5 s')), 5000).unref()
    })
    assert.match(text, /^retry: \d+\nid: \S+\nevent: ready\ndata: \{\}\n\n/)
  })
})
