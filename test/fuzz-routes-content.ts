/** HTTP fuzzing routes — Content types and entries. */
import fc from 'fast-check'
import {
  articleData,
  field,
  goodArticle,
  goodFields,
  goodName,
  goodPage,
  locale,
  status,
  typeKey,
  version,
} from './fuzz-bodies.js'
import { query, seg, valid } from './fuzz-requests.js'
import { api, constPath, pageKeys, type Route, routeParts } from './fuzz-route-kit.js'
import type { Known } from './fuzz-support.js'
import { deepEntry, mutated, text } from './fuzz-values.js'

export function contentRoutes(K: Known): Route[] {
  const { typeSeg, entry, R } = routeParts(K)
  return [
    [
      'GET /api/v1/content-types',
      R({
        valid: valid(constPath(api('content-types')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('content-types')),
        query: query(pageKeys(K)),
      }),
    ],
    [
      'GET /api/v1/content-types/:key',
      R({
        valid: valid(fc.constantFrom('article', 'scratch').map((k) => api('content-types', k))),
        method: 'GET',
        path: typeSeg.map((k) => api('content-types', k)),
      }),
    ],
    [
      'POST /api/v1/content-types',
      R({
        valid: valid(
          constPath(api('content-types')),
          fc.record({ key: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), name: goodName, fields: goodFields }),
        ),
        method: 'POST',
        path: constPath(api('content-types')),
        body: mutated(
          fc.record({
            key: typeKey,
            name: text,
            fields: fc.oneof(
              fc.array(field, { maxLength: 5 }),
              fc.constant(Array(101).fill({ name: 'a', type: 'json' })),
            ),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/entries/:type',
      R({
        valid: valid(
          constPath(api('entries', 'article')),
          undefined,
          fc
            .record(
              {
                limit: fc.integer({ min: 1, max: 200 }).map(String),
                status: fc.constantFrom('draft', 'published', 'archived'),
                locale: fc.constantFrom('en', 'fr'),
              },
              { requiredKeys: [] },
            )
            .map((o) => new URLSearchParams(o).toString()),
        ),
        method: 'GET',
        path: typeSeg.map((t) => api('entries', t)),
        query: query([...pageKeys(K), ['status', status.map(String)], ['locale', locale.map(String)]]),
      }),
    ],
    [
      'POST /api/v1/entries/:type',
      R({
        valid: valid(
          constPath(api('entries', 'article')),
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc.record(
                {
                  data: goodArticle(K, true),
                  locale: fc.constantFrom('en', 'fr', 'pt-BR'),
                  status: fc.constantFrom('draft', 'published', 'archived'),
                },
                { requiredKeys: ['data'] },
              ),
            },
            { weight: 1, arbitrary: deepEntry },
          ),
        ),
        method: 'POST',
        path: typeSeg.map((t) => api('entries', t)),
        body: mutated(fc.record({ data: articleData(K), locale, status }, { requiredKeys: ['data'] })),
      }),
    ],
    [
      'GET /api/v1/entries/:type/:id',
      R({
        valid: valid(
          fc.constantFrom(K.entryId, ...K.spareEntryIds).map((id) => api('entries', 'article', id)),
        ),
        method: 'GET',
        path: entry(),
      }),
    ],
    [
      'PATCH /api/v1/entries/:type/:id',
      R({
        valid: valid(
          fc.constantFrom(K.entryId, ...K.spareEntryIds).map((id) => api('entries', 'article', id)),
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc.record(
                { data: goodArticle(K, false), locale: fc.constantFrom('en', 'fr') },
                { requiredKeys: [] },
              ),
            },
            { weight: 1, arbitrary: deepEntry },
          ),
        ),
        method: 'PATCH',
        path: entry(),
        body: mutated(fc.record({ data: articleData(K), locale, version }, { requiredKeys: [] })),
      }),
    ],
    [
      'POST /api/v1/entries/:type/:id/publish',
      R({
        valid: valid(
          fc
            .constantFrom(K.entryId, ...K.spareEntryIds)
            .map((id) => api('entries', 'article', id, 'publish')),
          fc.constantFrom(undefined, {}),
        ),
        method: 'POST',
        path: entry(['publish']),
        body: fc.oneof(fc.constant(undefined), mutated(fc.record({ version }, { requiredKeys: [] }))),
      }),
    ],
    [
      'POST /api/v1/entries/:type/:id/unpublish',
      R({
        valid: valid(
          fc
            .constantFrom(K.entryId, ...K.spareEntryIds)
            .map((id) => api('entries', 'article', id, 'unpublish')),
          fc.constantFrom(undefined, {}),
        ),
        method: 'POST',
        path: entry(['unpublish']),
        body: fc.oneof(fc.constant(undefined), mutated(fc.record({ version }, { requiredKeys: [] }))),
      }),
    ],
  ]
}

export function contentTypePatchRoutes(K: Known): Route[] {
  const { R } = routeParts(K)
  return [
    [
      'PATCH /api/v1/content-types/:key',
      R({
        valid: fc.oneof(
          valid(
            constPath(api('content-types', 'scratch')),
            fc.record({ name: goodName, fields: goodFields }, { requiredKeys: [] }),
          ),
          valid(constPath(api('content-types', 'article')), fc.record({ name: goodName })),
        ),
        method: 'PATCH',
        path: seg(['scratch', 'article', 'other_type', 'missing_type']).map((k) => api('content-types', k)),
        body: mutated(
          fc.record({ name: text, fields: fc.array(field, { maxLength: 4 }), version }, { requiredKeys: [] }),
        ),
      }),
    ],
  ]
}
