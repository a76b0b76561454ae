/**
 * The tamper-evidence routes on every dialect, checked the way an outside verifier would:
 * with the portable `audited/proofs` functions and the key `GET /audit/checkpoints/key`
 * publishes — every event of the tenant proven included in a signed checkpoint, consecutive
 * checkpoints proven consistent; another tenant's event (or one not sealed yet) is 404
 * `not_sealed`; bad parameters are 400; the routes keep to their roles.
 */
import assert from 'node:assert/strict'
import { before, it } from 'node:test'
import type { ChangeEvent } from '../packages/audited/src/audit/change-event.js'
import {
  eventLeafHash,
  fromBase64,
  fromHex,
  openCheckpoint,
  parseVerifierKey,
  toHex,
  type Verifier,
  verifyConsistency,
  verifyInclusion,
} from '../packages/audited/src/proofs.js'
import { allEvents, newTenant } from './http-audit-support.js'
import { apiToken, forEachHttpDialect } from './http-setup.js'

interface Checkpoint {
  treeSize: number
  rootHash: string
  createdAt: string
  note: string
}

forEachHttpDialect(
  'http tamper evidence',
  (f) => {
    const t = { viewer: '', editor: '', auditor: '', other: '' }
    let otherTenant = ''
    let verifier: Verifier

    before(async () => {
      t.viewer = await apiToken(f, f.tenantId, 'viewer')
      t.editor = await apiToken(f, f.tenantId, 'editor')
      t.auditor = await apiToken(f, f.tenantId, 'auditor')
      otherTenant = await newTenant(f, 'elsewhere')
      t.other = await apiToken(f, otherTenant, 'admin')
      const type = await f.call('POST', '/api/v1/content-types', {
        body: { key: 'note', name: 'Note', fields: [{ name: 'title', type: 'string' }] },
      })
      assert.equal(type.status, 201, JSON.stringify(type.body))
      for (let i = 0; i < 12; i++) {
        const res = await f.call('POST', '/api/v1/entries/note', { body: { data: { title: `n${i}` } } })
        assert.equal(res.status, 201)
        if (i % 4 === 3) await f.integrity!.sealer.flush() // several checkpoints
      }
      await f.call('POST', '/api/v1/locales', { token: t.other, body: { code: 'fr', name: 'Français' } })
      await f.integrity!.sealer.flush()
    })

    it('GET /audit/checkpoints/key: the signing key for any authenticated caller', async () => {
      for (const token of [undefined, t.viewer, t.editor, t.auditor, t.other]) {
        const res = await f.call('GET', '/api/v1/audit/checkpoints/key', { token })
        assert.equal(res.status, 200, JSON.stringify(res.body))
        assert.deepEqual(Object.keys(res.body).sort(), ['algorithm', 'keyName', 'publicKey', 'verifierKey'])
        assert.equal(res.body.algorithm, 'ed25519')
        assert.equal(res.body.keyName, 'audited.test')
        assert.equal(res.body.verifierKey, f.integrity!.signer.verifierKey)
        verifier = parseVerifierKey(res.body.verifierKey)
        assert.deepEqual(fromBase64(res.body.publicKey), verifier.publicKey)
        assert.equal(fromBase64(res.body.publicKey).length, 32)
      }
      const anonymous = await f.call('GET', '/api/v1/audit/checkpoints/key', { token: null })
      assert.equal(anonymous.status, 401)
    })

    it("GET /audit/checkpoints: the tenant's signed checkpoints, oldest first, chained", async () => {
      const res = await f.call('GET', '/api/v1/audit/checkpoints')
      assert.equal(res.status, 200, JSON.stringify(res.body))
      const cps: Checkpoint[] = res.body.checkpoints
      assert.ok(cps.length >= 3, `${cps.length} checkpoints`)
      let previous = 0
      for (const c of cps) {
        assert.deepEqual(Object.keys(c).sort(), ['createdAt', 'note', 'rootHash', 'treeSize'])
        const facts = openCheckpoint(c.note, verifier)
        assert.equal(facts.tenantId, f.tenantId, 'the origin names the tenant')
        assert.equal(facts.treeSize, c.treeSize)
        assert.equal(facts.rootHash, c.rootHash)
        assert.equal(facts.time, c.createdAt)
        assert.equal(facts.previousSize, previous, 'each names the one before')
        assert.ok(c.treeSize > previous, 'oldest first')
        previous = c.treeSize
      }
      const after = cps[1]!.treeSize
      const later = await f.call('GET', `/api/v1/audit/checkpoints?after=${after}&limit=1`, {
        token: t.auditor,
      })
      assert.equal(later.status, 200)
      assert.deepEqual(later.body.checkpoints, [cps[2]])
      const none = await f.call('GET', `/api/v1/audit/checkpoints?after=${cps.at(-1)!.treeSize}`)
      assert.deepEqual(none.body.checkpoints, [])
      // Another tenant's admin reads its own log: other sizes, its own origin.
      const other = await f.call('GET', '/api/v1/audit/checkpoints', { token: t.other })
      assert.equal(other.status, 200)
      assert.ok(other.body.checkpoints.length >= 1)
      for (const c of other.body.checkpoints as Checkpoint[])
        assert.equal(openCheckpoint(c.note, verifier).tenantId, otherTenant)
    })

    it('GET /audit/checkpoints/consistency: each checkpoint extends the one before', async () => {
      const cps: Checkpoint[] = (await f.call('GET', '/api/v1/audit/checkpoints')).body.checkpoints
      const pairs = cps.slice(1).map((c, i) => [cps[i]!, c] as const)
      pairs.push([cps[0]!, cps.at(-1)!])
      for (const [a, b] of pairs) {
        const res = await f.call(
          'GET',
          `/api/v1/audit/checkpoints/consistency?from=${a.treeSize}&to=${b.treeSize}`,
          { token: t.auditor },
        )
        assert.equal(res.status, 200, JSON.stringify(res.body))
        assert.equal(res.body.from, a.treeSize)
        assert.equal(res.body.to, b.treeSize)
        const proof = (res.body.proof as string[]).map(fromHex)
        const ra = fromHex(openCheckpoint(a.note, verifier).rootHash)
        const rb = fromHex(openCheckpoint(b.note, verifier).rootHash)
        assert.ok(verifyConsistency(a.treeSize, b.treeSize, proof, ra, rb), `${a.treeSize} → ${b.treeSize}`)
        if (a.treeSize > 1)
          assert.ok(!verifyConsistency(a.treeSize - 1, b.treeSize, proof, ra, rb), 'the proof is specific')
      }
    })

    it("GET /audit/events/:eventId/proof: every event of the tenant is in a signed checkpoint's tree", async () => {
      // As stored: the admin's e-mail is personal data, encrypted in the form the leaf hashes.
      const events = await allEvents(f, '&stored=true')
      assert.ok(events.length >= 17, `${events.length} events`)
      const seen = new Set<number>()
      for (const e of events) {
        const res = await f.call('GET', `/api/v1/audit/events/${e.eventId}/proof`, { token: t.auditor })
        assert.equal(res.status, 200, JSON.stringify(res.body))
        const p = res.body
        assert.equal(p.eventId, e.eventId)
        assert.equal(p.tenantId, f.tenantId)
        // The leaf is the event exactly as the API returns it with stored=true.
        assert.equal(p.leafHash, toHex(eventLeafHash(e as ChangeEvent)))
        const facts = openCheckpoint(p.checkpoint.note, verifier)
        assert.equal(facts.tenantId, f.tenantId)
        assert.equal(facts.treeSize, p.treeSize)
        assert.equal(p.checkpoint.treeSize, p.treeSize)
        const path = (p.path as string[]).map(fromHex)
        const root = fromHex(facts.rootHash)
        assert.ok(verifyInclusion(fromHex(p.leafHash), p.leafIndex, p.treeSize, path, root), e.eventId)
        assert.ok(!verifyInclusion(fromHex(p.leafHash), p.leafIndex + 1, p.treeSize, path, root))
        seen.add(p.leafIndex)
      }
      assert.equal(seen.size, events.length, 'one leaf per event')
    })

    it("another tenant's event is 404 not_sealed; the other tenant proves it", async () => {
      const [theirs] = await allEvents(f, '', 1000, t.other)
      assert.ok(theirs)
      for (const token of [undefined, t.auditor]) {
        const res = await f.call('GET', `/api/v1/audit/events/${theirs.eventId}/proof`, { token })
        assert.equal(res.status, 404, JSON.stringify(res.body))
        assert.equal(res.body.error.code, 'not_found')
        assert.equal(res.body.error.details.reason, 'not_sealed')
        assert.equal(res.headers['retry-after'], '2')
      }
      const own = await f.call('GET', `/api/v1/audit/events/${theirs.eventId}/proof`, { token: t.other })
      assert.equal(own.status, 200)
      assert.equal(own.body.tenantId, otherTenant)
    })

    it('bad parameters are 400 validation; editors and viewers are 403', async () => {
      const bad = [
        '/api/v1/audit/checkpoints?limit=0',
        '/api/v1/audit/checkpoints?limit=1001',
        '/api/v1/audit/checkpoints?after=-1',
        '/api/v1/audit/checkpoints?after=x',
        '/api/v1/audit/checkpoints?since=1',
        '/api/v1/audit/checkpoints/consistency',
        '/api/v1/audit/checkpoints/consistency?from=1',
        '/api/v1/audit/checkpoints/consistency?to=2',
        '/api/v1/audit/checkpoints/consistency?from=a&to=2',
        '/api/v1/audit/checkpoints/consistency?from=1.5&to=2',
        '/api/v1/audit/checkpoints/consistency?from=3&to=2',
        '/api/v1/audit/checkpoints/consistency?from=1&to=100000',
        '/api/v1/audit/events/not-a-ulid/proof',
      ]
      for (const url of bad) {
        const res = await f.call('GET', url)
        assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.body)}`)
        assert.equal(res.body.error.code, 'validation', url)
      }
      const above = await f.call('GET', '/api/v1/audit/checkpoints/consistency?from=1&to=100000')
      assert.match(above.body.error.message, /above the newest checkpoint/)
      const [e] = await allEvents(f)
      for (const url of [
        '/api/v1/audit/checkpoints',
        '/api/v1/audit/checkpoints/consistency?from=1&to=2',
        `/api/v1/audit/events/${e!.eventId}/proof`,
      ]) {
        for (const token of [t.viewer, t.editor])
          assert.equal((await f.call('GET', url, { token })).status, 403, url)
        assert.equal((await f.call('GET', url, { token: null })).status, 401, url)
      }
    })

    it('an event not sealed yet is 404 not_sealed (the sealer stopped)', async () => {
      await f.integrity!.sealer.stop()
      const entry = await f.call('POST', '/api/v1/entries/note', { body: { data: { title: 'late' } } })
      assert.equal(entry.status, 201)
      const events = await allEvents(f, `&table=entries&recordId=${entry.body.id}`)
      assert.equal(events.length, 1)
      const res = await f.call('GET', `/api/v1/audit/events/${events[0]!.eventId}/proof`)
      assert.equal(res.status, 404)
      assert.equal(res.body.error.details.reason, 'not_sealed')
    })
  },
  { sealer: true },
)
