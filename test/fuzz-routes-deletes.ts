/** HTTP fuzzing routes — Destructive routes (run last in the former single suite, so valid ids stayed valid longer). */
import fc from 'fast-check'
import { seg, valid } from './fuzz-requests.js'
import { api, type Route, routeParts } from './fuzz-route-kit.js'
import type { Known } from './fuzz-support.js'

export function deleteRoutes(K: Known): Route[] {
  const { typeSeg, userIdSeg, R } = routeParts(K)
  return [
    [
      'DELETE /api/v1/entries/:type/:id',
      R({
        valid: valid(fc.constantFrom(...K.spareEntryIds).map((id) => api('entries', 'article', id))),
        method: 'DELETE',
        path: fc
          .tuple(typeSeg, seg([...K.spareEntryIds, K.otherEntryId]))
          .map(([t, id]) => api('entries', t, id)),
      }),
    ],
    [
      'DELETE /api/v1/webhooks/:id',
      R({
        valid: valid(fc.constantFrom(...K.spareWebhookIds).map((id) => api('webhooks', id))),
        method: 'DELETE',
        path: seg([...K.spareWebhookIds, K.otherWebhookId]).map((id) => api('webhooks', id)),
      }),
    ],
    [
      'DELETE /api/v1/tokens/:id',
      R({
        valid: valid(fc.constantFrom(...K.tokenIds).map((id) => api('tokens', id))),
        method: 'DELETE',
        path: seg([...K.tokenIds, K.otherTokenId]).map((id) => api('tokens', id)),
      }),
    ],
    [
      'DELETE /api/v1/users/:id',
      R({
        valid: valid(fc.constantFrom(...K.userIds).map((id) => api('users', id))),
        method: 'DELETE',
        path: userIdSeg.map((id) => api('users', id)),
      }),
    ],
    [
      'DELETE /api/v1/content-types/:key',
      R({
        valid: valid(fc.constantFrom('scratch_drop', 'article').map((k) => api('content-types', k))),
        method: 'DELETE',
        path: seg(['scratch_drop', 'article', 'other_type', 'missing_type']).map((k) =>
          api('content-types', k),
        ),
      }),
    ],
  ]
}
