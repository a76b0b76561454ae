/**
 * The leaf input of a change event (leaf.ts) as one SQL expression over its stored columns,
 * built from the dialect's pieces (db/dialects/leaf-sql.ts): the same canonical JSON text,
 * field by field in its sorted order, so `verify` reads one value per event (its leaf hash
 * where the database computes SHA-256) instead of decoding every event.
 */
import type { Dialect, LeafSql } from '../db/dialect.js'

type Kind = 'text' | 'bigint' | 'json' | 'list' | 'time'

/** The twenty fields of `eventLeafText`, in its (sorted) order, with their columns. */
const FIELDS: readonly (readonly [field: string, column: string, kind: Kind])[] = [
  ['action', 'action', 'text'],
  ['actorId', 'actor_id', 'text'],
  ['actorType', 'actor_type', 'text'],
  ['changedFields', 'changed_fields', 'list'],
  ['eventId', 'event_id', 'text'],
  ['hlc', 'hlc', 'bigint'],
  ['ip', 'ip', 'text'],
  ['metadata', 'metadata', 'json'],
  ['newValues', 'new_values', 'json'],
  ['nodeId', 'node_id', 'text'],
  ['oldValues', 'old_values', 'json'],
  ['operation', 'operation', 'text'],
  ['reason', 'reason', 'text'],
  ['recordId', 'record_id', 'text'],
  ['requestId', 'request_id', 'text'],
  ['table', 'table_name', 'text'],
  ['tenantId', 'tenant_id', 'text'],
  ['txId', 'tx_id', 'text'],
  ['userAgent', 'user_agent', 'text'],
  ['wallTime', 'wall_time', 'time'],
]

function value(d: Dialect, l: LeafSql, column: string, kind: Kind): string {
  switch (kind) {
    case 'text':
      return l.jsonString(column)
    case 'bigint':
      return l.jsonString(d.bigintAsText(column))
    case 'json':
      return l.storedJson(column, 'null')
    case 'list':
      // The API reads a NULL list as [] (eventFromRow).
      return l.storedJson(column, '[]')
    case 'time':
      return l.isoMillis(column)
  }
}

/** The SQL of an event's leaf: `hashed` when it is the leaf hash (lower-case hex), else the
 * leaf text to hash; undefined where the dialect cannot build it. */
export function leafSelectSql(d: Dialect): { sql: string; hashed: boolean } | undefined {
  const l = d.leafSql
  if (l === undefined) return undefined
  const parts: string[] = []
  FIELDS.forEach(([field, column, kind], i) => {
    parts.push(`'${i === 0 ? '{' : ','}"${field}":'`, value(d, l, column, kind))
  })
  parts.push(`'}'`)
  const text = l.concat(parts)
  return l.leafHex === undefined ? { sql: text, hashed: false } : { sql: l.leafHex(text), hashed: true }
}
