/**
 * A client's whole journey, written against the types generated from `/openapi.json`
 * (./generated.ts, written by test/http-openapi-client.test.ts and type-checked there): a
 * field renamed or a status changed on the server breaks this file's compilation, not only
 * its run. Only `import type` of the generated file: it is erased at run time.
 */
import assert from 'node:assert/strict'
import createClient from 'openapi-fetch'
import type { components, paths } from './generated.js'

type Entry = components['schemas']['Entry']
type ChangeEvent = components['schemas']['ChangeEvent']

/** The generated types are precise (not `any`): a field the server does not answer is a
 * compile error here, and were it answered, the unused directive would be one. */
// @ts-expect-error an entry shows no tenant
export type NoTenant = Entry['tenantId']

export interface ScenarioInput {
  readonly baseUrl: string
  readonly email: string
  readonly password: string
  /** Distinct per run: the content type key. */
  readonly typeKey: string
}

/** Login, content type, entry, stale patch (409), publish, history, state, restore. */
export async function runScenario(input: ScenarioInput): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl: input.baseUrl })
  const login = await anonymous.POST('/api/v1/auth/login', {
    body: { email: input.email, password: input.password },
  })
  assert.equal(login.response.status, 200)
  const session = login.data
  assert.ok(session)
  assert.ok(Date.parse(session.expiresAt) > Date.now())

  const wrong = await anonymous.POST('/api/v1/auth/login', { body: { email: input.email, password: 'nope' } })
  assert.equal(wrong.response.status, 401)
  assert.equal(wrong.error?.error.code, 'unauthorized')

  const api = createClient<paths>({
    baseUrl: input.baseUrl,
    headers: { authorization: `Bearer ${session.token}` },
  })

  const me = await api.GET('/api/v1/me')
  assert.equal(me.data?.email, input.email)
  assert.equal(me.data?.auth, 'session')

  // A content type, then an entry of it: both 201 with their URL in Location.
  const type = await api.POST('/api/v1/content-types', {
    body: {
      key: input.typeKey,
      name: 'Article',
      fields: [
        { name: 'title', type: 'string', required: true },
        { name: 'views', type: 'integer' },
      ],
    },
  })
  assert.equal(type.response.status, 201, JSON.stringify(type.error))
  assert.equal(type.response.headers.get('location'), `/api/v1/content-types/${input.typeKey}`)
  assert.deepEqual(
    type.data?.fields.map((f) => f.name),
    ['title', 'views'],
  )

  const path = { type: input.typeKey }
  const created = await api.POST('/api/v1/entries/{type}', {
    params: { path },
    body: { data: { title: 'First', views: 1 }, locale: 'en' },
  })
  assert.equal(created.response.status, 201, JSON.stringify(created.error))
  const entry: Entry = created.data!
  assert.equal(entry.version, 1)
  assert.equal(entry.status, 'draft')
  const entryPath = { type: input.typeKey, id: entry.id }
  assert.equal(created.response.headers.get('location'), `/api/v1/entries/${input.typeKey}/${entry.id}`)

  const patched = await api.PATCH('/api/v1/entries/{type}/{id}', {
    params: { path: entryPath },
    body: { data: { title: 'Second', views: 2 }, version: entry.version },
  })
  assert.equal(patched.data?.version, 2, JSON.stringify(patched.error))
  assert.equal(patched.data?.data.title, 'Second')

  // Version 1 is stale now: 409 conflict, in the error envelope.
  const stale = await api.PATCH('/api/v1/entries/{type}/{id}', {
    params: { path: entryPath },
    body: { data: { title: 'Lost update' }, version: entry.version },
  })
  assert.equal(stale.response.status, 409)
  assert.equal(stale.data, undefined)
  assert.equal(stale.error?.error.code, 'conflict')
  assert.equal(typeof stale.error?.error.requestId, 'string')

  const published = await api.POST('/api/v1/entries/{type}/{id}/publish', {
    params: { path: entryPath },
    body: { version: 2 },
  })
  assert.equal(published.data?.status, 'published', JSON.stringify(published.error))
  assert.equal(published.data?.version, 3)
  // The body is optional: publishing a published entry again, without one, changes nothing.
  const again = await api.POST('/api/v1/entries/{type}/{id}/publish', { params: { path: entryPath } })
  assert.equal(again.data?.status, 'published', JSON.stringify(again.error))
  assert.equal(again.data?.version, 3)

  // The history, two events a page: follow nextCursor while hasMore.
  const history: ChangeEvent[] = []
  let after: string | undefined
  for (let page = 0; page < 10; page++) {
    const res = await api.GET('/api/v1/audit/history/{table}/{id}', {
      params: { path: { table: 'entries', id: entry.id }, query: { limit: 2, ...(after ? { after } : {}) } },
    })
    assert.ok(res.data, JSON.stringify(res.error))
    history.push(...res.data.items)
    if (!res.data.hasMore) break
    after = res.data.nextCursor ?? undefined
  }
  assert.deepEqual(
    history.map((e) => e.action),
    ['create', 'update', 'publish'],
  )
  const [createEvent] = history
  assert.ok(createEvent)

  // The entry as it was at its creation, with the entry's own field names.
  const state = await api.GET('/api/v1/audit/state/{table}/{id}', {
    params: { path: { table: 'entries', id: entry.id }, query: { at: createEvent.hlc } },
  })
  assert.ok(state.data?.state, JSON.stringify(state.error))
  const then = state.data.state as Partial<Entry>
  assert.deepEqual(then.data, { title: 'First', views: 1 })
  assert.equal(then.version, 1)
  assert.equal(then.createdAt, entry.createdAt)
  assert.equal('tenant_id' in state.data.state, false)

  const restored = await api.POST('/api/v1/audit/restore/{table}/{id}', {
    params: { path: { table: 'entries', id: entry.id } },
    body: { eventId: createEvent.eventId, status: 'draft' },
  })
  assert.equal(restored.response.status, 200, JSON.stringify(restored.error))
  assert.equal(restored.data?.version, 4)

  const now = await api.GET('/api/v1/entries/{type}/{id}', { params: { path: entryPath } })
  assert.deepEqual(now.data?.data, { title: 'First', views: 1 })
  assert.equal(now.data?.status, 'draft')
  assert.equal(now.data?.version, 4)

  const listed = await api.GET('/api/v1/entries/{type}', { params: { path, query: { limit: 10 } } })
  assert.deepEqual(
    listed.data?.items.map((e) => e.id),
    [entry.id],
  )
  assert.equal(listed.data?.nextCursor, null)
  assert.equal(listed.data?.hasMore, false)

  const missing = await api.GET('/api/v1/entries/{type}/{id}', {
    params: { path: { type: input.typeKey, id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' } },
  })
  assert.equal(missing.response.status, 404)
  assert.equal(missing.error?.error.code, 'not_found')
}
