/** HTTP fuzzing: path helpers shared by the route generators. */
import fc from 'fast-check'
import { cursor, limit, type Pair, request, type Shape, seg } from './fuzz-requests.js'
import { type Known, type Req, TABLES } from './fuzz-support.js'

export const p = (...parts: string[]) => `/${parts.join('/')}`
export const api = (...parts: string[]) => p('api', 'v1', ...parts)
export const constPath = (path: string) => fc.constant(path)
export const pageKeys = (K: Known): Pair[] => [
  ['limit', limit],
  ['after', cursor(K)],
]
export const tablesSeg = seg([...TABLES, 'change_events', 'audited_migrations', 'TENANTS'])

export type Route = [string, fc.Arbitrary<Req>]

/** Path segments around the ids of the setup, and a request builder bound to them. */
export function routeParts(K: Known) {
  const typeSeg = seg(['article', 'scratch', 'other_type', 'missing_type'])
  const entryIdSeg = seg([K.entryId, ...K.spareEntryIds, K.otherEntryId])
  const userIdSeg = seg([K.adminUserId, ...K.userIds, K.otherUserId])
  const webhookSeg = seg([K.webhookId, ...K.spareWebhookIds, K.otherWebhookId])
  const eventSeg = seg([...K.events.map((e) => e.eventId), K.otherEventId])
  const recordSeg = seg([...K.events.map((e) => e.recordId), K.otherEntryId, K.otherTenantId])
  const entry = (suffix: string[] = []) =>
    fc.tuple(typeSeg, entryIdSeg).map(([t, id]) => api('entries', t, id, ...suffix))
  const R = (shape: Shape) => request(K, shape)
  return { typeSeg, entryIdSeg, userIdSeg, webhookSeg, eventSeg, recordSeg, entry, R }
}
