/**
 * Review 9: `POST /api/v1/webhooks/:id/replay` with `{ from, to }` is client input. A range
 * that ends before it starts selects nothing by construction: it is a mistake to report
 * (400 validation, field `to`), not a silent `202 { queued: 0 }`. Bounds that are not
 * times are 400 as well, never a 500.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { forEachHttpDialect } from './http-setup.js'
import { subscribe } from './webhook-delivery-support.js'

forEachHttpDialect('review9: replay ranges', (f) => {
  it('refuses an inverted range and bounds that are not times', async () => {
    const hook = await subscribe(f, 'https://hooks.example.test/r', ['*'])
    const replay = (body: unknown) => f.call('POST', `/api/v1/webhooks/${hook.id}/replay`, { body })
    const inverted = await replay({ from: '2030-01-02T00:00:00Z', to: '2030-01-01T00:00:00Z' })
    assert.equal(inverted.status, 400, JSON.stringify(inverted.body))
    assert.equal(inverted.body.error.code, 'validation')
    assert.equal(inverted.body.error.details.field, 'to')
    for (const body of [
      { from: 'yesterday', to: '2030-01-01T00:00:00Z' },
      { from: '2030-02-30T00:00:00Z', to: '2030-03-01T00:00:00Z' },
      { from: '2030-01-01T00:00:00Z', to: '99999999999999999999999999' },
    ]) {
      const r = await replay(body)
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`)
    }
    const ok = await replay({ from: '2020-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z' })
    assert.equal(ok.status, 202, 'a one-instant range is a range')
  })
})
