/**
 * The HTTP contract as `/openapi.json` states it: a valid OpenAPI document (checked by a
 * real validator), every operation named, summarised, tagged and answering declared
 * schemas — success and error envelope — and the server keeping to it (Location on 201,
 * `GET /me`, public operations without a token).
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import { decodeRow } from '../packages/audited/src/audit/row-codec.js'
import { CMS_ENTITIES } from '../packages/cms/src/cms/entities.js'
import { presentRecord } from '../packages/cms/src/server/resource.js'
import { ADMIN, apiToken, forEachHttpDialect } from './http-setup.js'

interface Operation {
  operationId?: string
  summary?: string
  tags?: string[]
  security?: unknown[]
  parameters?: { name: string; in: string; schema: { type?: string; minimum?: number; maximum?: number } }[]
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }>; headers?: object }>
}
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: object } }

const PUBLIC = new Set(['health', 'ready', 'metrics', 'login'])
const ENVELOPE = '#/components/schemas/ErrorEnvelope'

function operations(doc: Document): [string, string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => [method, path, op] as [string, string, Operation]),
  )
}

forEachHttpDialect('openapi contract', (f) => {
  let doc: Document

  it('/openapi.json is a valid OpenAPI 3.1 document', async () => {
    const res = await f.call('GET', '/openapi.json', { token: null })
    assert.equal(res.status, 200)
    doc = res.body
    const validator = new Validator()
    const result = await validator.validate(structuredClone(res.body))
    assert.deepEqual(result.errors, undefined, JSON.stringify(result.errors, null, 1)?.slice(0, 2000))
    assert.equal(result.valid, true)
    assert.equal(validator.version, '3.1')
  })

  it('every operation has a unique operationId, a summary, tags and declared answers', () => {
    const ids = new Set<string>()
    const ops = operations(doc)
    assert.ok(ops.length >= 40, `${ops.length} operations`)
    for (const [method, path, op] of ops) {
      const at = `${method.toUpperCase()} ${path}`
      assert.ok(op.operationId, `${at}: operationId`)
      assert.ok(!ids.has(op.operationId), `${at}: duplicate operationId ${op.operationId}`)
      ids.add(op.operationId)
      assert.ok(op.summary && op.summary.length > 5, `${at}: summary`)
      assert.ok(op.tags && op.tags.length === 1, `${at}: tags`)
      const statuses = Object.keys(op.responses)
      assert.ok(
        statuses.some((s) => s.startsWith('2')),
        `${at}: a success answer`,
      )
      assert.ok(!statuses.includes('default') && !statuses.includes('2XX'), `${at}: no undeclared answer`)
      // Every operation can answer 400 (malformed URL), 500 and 503, all in the envelope.
      for (const s of ['400', '500', '503']) assert.ok(statuses.includes(s), `${at}: ${s}`)
      for (const s of statuses.filter((x) => Number(x) >= 400)) {
        assert.equal(op.responses[s]?.content?.['application/json']?.schema.$ref, ENVELOPE, `${at} ${s}`)
      }
      const isPublic = PUBLIC.has(op.operationId)
      assert.equal(Array.isArray(op.security) && op.security.length === 0, isPublic, `${at}: security`)
      if (!isPublic) assert.ok(statuses.includes('401'), `${at}: 401`)
      if (['post', 'patch', 'delete'].includes(method) && !isPublic) {
        for (const s of ['409', '413', '429']) assert.ok(statuses.includes(s), `${at}: ${s}`)
      }
      if (statuses.includes('201')) assert.ok(op.responses['201']?.headers, `${at}: 201 documents Location`)
      for (const p of op.parameters ?? []) {
        if (p.name !== 'limit') continue
        assert.equal(p.schema.type, 'integer', `${at}: limit is an integer`)
        assert.equal(p.schema.minimum, 1, `${at}: limit minimum`)
        assert.ok((p.schema.maximum ?? 0) >= 200, `${at}: limit maximum`)
      }
    }
  })

  it('every list answers { items, nextCursor, hasMore }', () => {
    const lists = operations(doc).filter(
      ([method, , op]) => method === 'get' && op.operationId?.startsWith('list'),
    )
    assert.ok(lists.length >= 9)
    for (const [, path, op] of lists) {
      const ref = op.responses['200']?.content?.['application/json']?.schema.$ref ?? ''
      const name = ref.split('/').at(-1) ?? ''
      const schema = (doc.components.schemas as Record<string, { properties?: object }>)[name]
      assert.deepEqual(Object.keys(schema?.properties ?? {}), ['items', 'nextCursor', 'hasMore'], path)
    }
  })

  it('health, readiness, metrics and the document need no token', async () => {
    for (const url of ['/health', '/ready', '/metrics', '/openapi.json']) {
      const res = await f.call('GET', url, { token: null })
      assert.equal(res.status, 200, url)
    }
    // A probe's stale or malformed Authorization header is not read there either.
    for (const url of ['/health', '/ready', '/metrics']) {
      for (const authorization of ['Bearer not-a-valid-token-at-all', 'Basic eDp5']) {
        const res = await f.call('GET', url, { token: null, headers: { authorization } })
        assert.equal(res.status, 200, `${url} with ${authorization}`)
      }
    }
    assert.equal((await f.call('GET', '/api/v1/me', { token: 'not-a-valid-token-at-all' })).status, 401)
    assert.deepEqual((await f.call('GET', '/health', { token: null })).body, { status: 'ok' })
    assert.deepEqual((await f.call('GET', '/ready', { token: null })).body, { status: 'ready' })
    const metrics = await f.call('GET', '/metrics', { token: null })
    assert.match(String(metrics.headers['content-type']), /^text\/plain/)
    assert.match(String(metrics.body), /http_requests_total|# HELP/)
  })

  it('GET /me says who calls: session user or API token, role and tenant', async () => {
    const anonymous = await f.call('GET', '/api/v1/me', { token: null })
    assert.equal(anonymous.status, 401)
    assert.equal(anonymous.body.error.code, 'unauthorized')

    const me = await f.call('GET', '/api/v1/me')
    assert.equal(me.status, 200)
    assert.equal(me.body.email, ADMIN.email)
    assert.equal(me.body.auth, 'session')
    assert.equal(me.body.role, 'admin')
    assert.equal(me.body.platformAdmin, true)
    assert.equal(me.body.tenantId, f.tenantId)
    assert.equal(typeof me.body.userId, 'string')
    assert.equal(typeof me.body.tokenId, 'string')

    const token = await apiToken(f, f.tenantId, 'viewer')
    const viaToken = await f.call('GET', '/api/v1/me', { token })
    assert.equal(viaToken.status, 200)
    assert.deepEqual(
      { ...viaToken.body, tokenId: typeof viaToken.body.tokenId },
      {
        userId: null,
        email: null,
        name: null,
        role: 'viewer',
        platformAdmin: false,
        tenantId: f.tenantId,
        auth: 'token',
        tokenId: 'string',
      },
    )
  })

  it('every 201 names the created resource in Location, and reading it answers the same record', async () => {
    const type = await f.call('POST', '/api/v1/content-types', {
      body: { key: 'loc_page', name: 'Page', fields: [{ name: 'title', type: 'string' }] },
    })
    const entry = await f.call('POST', '/api/v1/entries/loc_page', { body: { data: { title: 'x' } } })
    const user = await f.call('POST', '/api/v1/users', {
      body: { email: `loc-${f.name}@example.test`, password: 'long enough password', role: 'viewer' },
    })
    const token = await f.call('POST', '/api/v1/tokens', { body: { name: 'ci', role: 'viewer' } })
    const locale = await f.call('POST', '/api/v1/locales', { body: { code: 'de', name: 'Deutsch' } })
    const media = await f.call('POST', '/api/v1/media', {
      body: {
        filename: 'a.png',
        mime: 'image/png',
        size: 12,
        checksum: 'sha256:abcdef12',
        url: 'https://cdn.example.test/a.png',
      },
    })
    const hook = await f.call('POST', '/api/v1/webhooks', {
      body: { url: 'https://hooks.example.test/x', events: ['*'] },
    })
    const tenant = await f.call('POST', '/api/v1/tenants', { body: { name: `Loc ${f.name}` } })
    const hold = await f.call('POST', '/api/v1/legal-holds', {
      body: { scope: 'actor', actorId: 'someone', reason: 'litigation' },
    })
    const shownAt: [typeof type, string, string[]][] = [
      [type, `/api/v1/content-types/loc_page`, []],
      [entry, `/api/v1/entries/loc_page/${entry.body.id}`, []],
      [user, `/api/v1/users/${user.body.id}`, []],
      [token, `/api/v1/tokens/${token.body.id}`, ['token']],
      [locale, `/api/v1/locales/${locale.body.id}`, []],
      [media, `/api/v1/media/${media.body.id}`, []],
      [hook, `/api/v1/webhooks/${hook.body.id}`, ['secret']],
      [tenant, `/api/v1/tenants/${tenant.body.tenant?.id}`, []],
      [hold, `/api/v1/legal-holds/${hold.body.id}`, []],
    ]
    for (const [res, location, onceOnly] of shownAt) {
      assert.equal(res.status, 201, JSON.stringify(res.body))
      assert.equal(res.headers.location, location)
      const read = await f.call('GET', location)
      assert.equal(read.status, 200, location)
      const createdBody = { ...(res.body.tenant ?? res.body) }
      for (const key of onceOnly) delete createdBody[key]
      assert.deepEqual(read.body, createdBody, location)
    }
  })

  it('an integer limit: digits pass, anything else is 400 (the error envelope)', async () => {
    assert.equal((await f.call('GET', '/api/v1/content-types?limit=1')).status, 200)
    assert.equal((await f.call('GET', '/api/v1/audit/events?limit=1000')).status, 200)
    for (const bad of ['0', '201', '1.5', '-1', 'x', '']) {
      const res = await f.call('GET', `/api/v1/content-types?limit=${bad}`)
      assert.equal(res.status, 400, bad)
      assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'details', 'message', 'requestId'])
    }
  })

  it('the schemas name every field a stored record shows (serialization drops nothing)', async () => {
    const schemas = doc.components.schemas as Record<string, { properties?: object }>
    // A policy is shown as { keepDays, archive, tables }; runs are shown by their events.
    const names: Record<
      Exclude<keyof typeof CMS_ENTITIES, 'retention_policies' | 'retention_runs'>,
      string
    > = {
      tenants: 'Tenant',
      users: 'User',
      tokens: 'Token',
      content_types: 'ContentType',
      entries: 'Entry',
      locales: 'Locale',
      media: 'Media',
      webhooks: 'Webhook',
      legal_holds: 'LegalHold',
    }
    for (const [table, name] of Object.entries(names) as [keyof typeof CMS_ENTITIES, string][]) {
      const raw = await f.db.readKysely.selectFrom(table).selectAll().limit(1).executeTakeFirst()
      assert.ok(raw, `${table} has a row (the previous tests made one)`)
      const shown = presentRecord(table, decodeRow(CMS_ENTITIES[table], raw as Record<string, unknown>))
      assert.deepEqual(Object.keys(schemas[name]?.properties ?? {}).sort(), Object.keys(shown).sort(), table)
    }
    const [event] = (await f.auditor.events.list({ tenantId: f.tenantId, limit: 1 })).events
    assert.deepEqual(
      Object.keys(schemas.ChangeEvent?.properties ?? {}).sort(),
      Object.keys(event ?? {}).sort(),
    )
  })
})
