/**
 * Review S (privacy): a personal value's envelope is opened with whatever key its key id
 * names, whichever tenant the key belongs to. An envelope of tenant B copied as a plain
 * value into an event of tenant A (the feed, NATS, webhooks and archives carry envelopes)
 * must not read as tenant B's plaintext in tenant A's events.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { before, it } from 'node:test'
import { type Auditor, createAuditor, defineEntity } from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId, type Post, posts } from './setup.js'

/** The same table as `posts`, with `body` personal (subject: the row's id). */
const privatePosts = defineEntity<Post>({
  table: 'posts',
  tenantColumn: 'tenant_id',
  versionColumn: 'version',
  statusColumn: 'status',
  personal: ['body'],
  subject: 'id',
  columns: { tags: 'json', flag: 'boolean', published_at: 'timestamp' },
})

forEachDialect('review S: envelopes across tenants', (f) => {
  let auditor: Auditor
  const tenantA = { ...ctx, tenantId: `ra-${newId()}` }
  const tenantB = { ...ctx, tenantId: `rb-${newId()}` }
  const secret = `secret-of-b-${newId()}`

  before(() => {
    auditor = createAuditor({ db: f.db, personalData: { masterKey: randomBytes(32).toString('base64') } })
  })

  it("tenant A's event holding tenant B's envelope does not read as B's plaintext", async () => {
    const victim = newId()
    await auditor.create(privatePosts, { id: victim, title: `v-${victim}`, body: secret }, tenantB)
    const { events } = await auditor.events.list({ tenantId: tenantB.tenantId, stored: true })
    const envelope = events.find((e) => e.recordId === victim)?.newValues?.body
    assert.ok(typeof envelope === 'string' && envelope.startsWith('enc:v1:'), String(envelope))

    // Tenant A writes the envelope as an ordinary (non-personal) value.
    const mine = newId()
    await auditor.create(posts, { id: mine, title: `m-${mine}`, body: envelope }, tenantA)
    const own = await auditor.events.list({ tenantId: tenantA.tenantId, table: 'posts', recordId: mine })
    assert.equal(own.events.length, 1)
    assert.notEqual(own.events[0]!.newValues?.body, secret, "tenant B's plaintext read in tenant A")
    const one = await auditor.events.get(own.events[0]!.eventId, { tenantId: tenantA.tenantId })
    assert.notEqual(one.newValues?.body, secret, "tenant B's plaintext read in tenant A (get)")
  })
})
