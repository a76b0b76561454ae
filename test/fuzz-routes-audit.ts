/** HTTP fuzzing routes — The audit API: events, history, state, restore and export. */
import fc from 'fast-check'
import { goodDate } from './fuzz-bodies.js'
import { cursor, limit, type Pair, pointInTime, query, ulid, valid } from './fuzz-requests.js'
import { api, constPath, type Route, routeParts, tablesSeg } from './fuzz-route-kit.js'
import { type Known, TABLES } from './fuzz-support.js'
import { mutated, text } from './fuzz-values.js'

export function auditRoutes(K: Known): Route[] {
  const { eventSeg, recordSeg, R } = routeParts(K)
  const auditListKeys: Pair[] = [
    ['table', fc.oneof(fc.constantFrom(...TABLES), text)],
    ['recordId', fc.oneof(fc.constantFrom(K.entryId, K.webhookId, K.otherEntryId), text)],
    ['actorId', fc.oneof(fc.constantFrom(K.adminUserId, 'system'), text)],
    [
      'action',
      fc.oneof(fc.constantFrom('create', 'update', 'delete', 'publish', 'unpublish', 'restore'), text),
    ],
    ['from', pointInTime],
    ['to', pointInTime],
    ['after', cursor(K)],
    ['limit', fc.oneof(limit, fc.integer({ min: 1, max: 9999 }).map(String))],
  ]
  const restorePath = fc.oneof(
    fc.constantFrom(...K.events).map((e) => api('audit', 'restore', e.table, e.recordId)),
    fc.tuple(tablesSeg, recordSeg).map(([t, id]) => api('audit', 'restore', t, id)),
  )
  return [
    [
      'GET /api/v1/audit/events',
      R({
        valid: valid(
          constPath(api('audit', 'events')),
          undefined,
          fc
            .record(
              {
                table: fc.constantFrom(...TABLES.filter((t) => t !== 'entry_unique_values')),
                action: fc.constantFrom('create', 'update', 'publish'),
                from: goodDate,
                limit: fc.integer({ min: 1, max: 1000 }).map(String),
                after: fc.constant(K.cursor),
              },
              { requiredKeys: [] },
            )
            .map((o) => new URLSearchParams(o).toString()),
        ),
        method: 'GET',
        path: constPath(api('audit', 'events')),
        query: query(auditListKeys),
      }),
    ],
    [
      'GET /api/v1/audit/events/:eventId',
      R({
        valid: valid(fc.constantFrom(...K.events).map((e) => api('audit', 'events', e.eventId))),
        method: 'GET',
        path: eventSeg.map((e) => api('audit', 'events', e)),
      }),
    ],
    [
      'GET /api/v1/audit/history/:table/:id',
      R({
        valid: valid(fc.constantFrom(...K.events).map((e) => api('audit', 'history', e.table, e.recordId))),
        method: 'GET',
        path: fc.tuple(tablesSeg, recordSeg).map(([t, id]) => api('audit', 'history', t, id)),
      }),
    ],
    [
      'GET /api/v1/audit/state/:table/:id',
      R({
        valid: valid(
          fc.constantFrom(...K.events).map((e) => api('audit', 'state', e.table, e.recordId)),
          undefined,
          fc
            .oneof(goodDate, fc.constant(new Date().toISOString()))
            .map((at) => `at=${encodeURIComponent(at)}`),
        ),
        method: 'GET',
        path: fc.tuple(tablesSeg, recordSeg).map(([t, id]) => api('audit', 'state', t, id)),
        query: query([['at', pointInTime]]),
      }),
    ],
    [
      'POST /api/v1/audit/restore/:table/:id',
      R({
        valid: fc.constantFrom(...K.events).map((e) => ({
          path: api('audit', 'restore', e.table, e.recordId),
          query: '',
          body: { eventId: e.eventId },
        })),
        method: 'POST',
        path: restorePath,
        body: mutated(
          fc.record({
            eventId: fc.oneof(fc.constantFrom(...K.events.map((e) => e.eventId), K.otherEventId), ulid, text),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/audit/export',
      R({
        valid: valid(
          constPath(api('audit', 'export')),
          undefined,
          fc
            .record({ format: fc.constantFrom('ndjson', 'csv'), from: goodDate }, { requiredKeys: [] })
            .map((o) => new URLSearchParams(o).toString()),
        ),
        method: 'GET',
        path: constPath(api('audit', 'export')),
        query: query([
          ['format', fc.oneof(fc.constantFrom('ndjson', 'csv', 'json', 'CSV'), text)],
          ['from', pointInTime],
          ['to', pointInTime],
        ]),
      }),
    ],
  ]
}
