/** HTTP fuzzing routes — Locales, media and webhooks. */
import fc from 'fast-check'
import { goodEvents, goodName, goodPage, goodUrl, url } from './fuzz-bodies.js'
import { query, seg, valid } from './fuzz-requests.js'
import { api, constPath, pageKeys, type Route, routeParts } from './fuzz-route-kit.js'
import type { Known } from './fuzz-support.js'
import { anyJson, mutated, number, text } from './fuzz-values.js'

export function assetRoutes(K: Known): Route[] {
  const { webhookSeg, R } = routeParts(K)
  return [
    [
      'GET /api/v1/locales',
      R({
        valid: valid(constPath(api('locales')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('locales')),
        query: query(pageKeys(K)),
      }),
    ],
    [
      'POST /api/v1/locales',
      R({
        valid: valid(
          constPath(api('locales')),
          fc.record({ code: fc.stringMatching(/^[a-z]{2,3}(-[A-Z]{2})?$/), name: goodName }),
        ),
        method: 'POST',
        path: constPath(api('locales')),
        body: mutated(
          fc.record({
            code: fc.oneof(
              fc.constantFrom('fr', 'de', 'en-US', 'zh-Hant-TW', 'es-419', 'EN'),
              fc.stringMatching(/^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$/),
              text,
            ),
            name: fc.oneof(text, fc.constant('n'.repeat(101))),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/media',
      R({
        valid: valid(constPath(api('media')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('media')),
        query: query(pageKeys(K)),
      }),
    ],
    [
      'POST /api/v1/media',
      R({
        valid: valid(
          constPath(api('media')),
          fc.record({
            filename: fc.uuid().map((u) => `${u}.png`),
            mime: fc.constantFrom('image/png', 'application/pdf'),
            size: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
            checksum: fc.stringMatching(/^[A-Za-z0-9]{8,64}$/),
            url: goodUrl,
          }),
        ),
        method: 'POST',
        path: constPath(api('media')),
        body: mutated(
          fc.record({
            filename: fc.oneof(fc.constantFrom('a.png', '../a.png', 'a\u0000.png', 'f'.repeat(256)), text),
            mime: fc.oneof(fc.constantFrom('image/png', 'application/octet-stream', 'image/', 'x/y/z'), text),
            size: fc.oneof(fc.nat(), number, fc.constant(Number.MAX_SAFE_INTEGER)),
            checksum: fc.oneof(fc.stringMatching(/^[A-Za-z0-9:+/=_-]{8,128}$/), text),
            url,
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/webhooks',
      R({
        valid: valid(constPath(api('webhooks')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('webhooks')),
        query: query(pageKeys(K)),
      }),
    ],
    [
      'GET /api/v1/webhooks/:id',
      R({
        valid: valid(constPath(api('webhooks', K.webhookId))),
        method: 'GET',
        path: webhookSeg.map((id) => api('webhooks', id)),
      }),
    ],
    [
      'POST /api/v1/webhooks',
      R({
        valid: valid(
          constPath(api('webhooks')),
          fc.record(
            { url: goodUrl, events: goodEvents, active: fc.boolean() },
            { requiredKeys: ['url', 'events'] },
          ),
        ),
        method: 'POST',
        path: constPath(api('webhooks')),
        body: mutated(
          fc.record(
            {
              url,
              events: fc.oneof(
                fc.array(
                  fc.oneof(
                    fc.constantFrom('*', 'entries.*', 'entries.publish', 'entries.publish'),
                    fc.stringMatching(/^[a-z][a-z0-9_]{0,8}(\.[a-z*]{1,5})?$/),
                    text,
                  ),
                  { maxLength: 40 },
                ),
                anyJson,
              ),
              active: fc.oneof(fc.boolean(), anyJson),
            },
            { requiredKeys: ['url', 'events'] },
          ),
        ),
      }),
    ],
    [
      'PATCH /api/v1/webhooks/:id',
      R({
        valid: valid(
          constPath(api('webhooks', K.webhookId)),
          fc.record({ url: goodUrl, events: goodEvents, active: fc.boolean() }, { requiredKeys: ['active'] }),
        ),
        method: 'PATCH',
        path: seg([K.webhookId, K.otherWebhookId]).map((id) => api('webhooks', id)),
        body: mutated(
          fc.record(
            {
              url,
              events: fc.oneof(fc.array(fc.constantFrom('*', 'entries.*', 'x.y'), { maxLength: 3 }), anyJson),
              active: fc.oneof(fc.boolean(), anyJson),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
    ],
  ]
}
