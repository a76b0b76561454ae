/**
 * The bytes a change event contributes to its tenant's Merkle log: the canonical JSON (sorted
 * keys, see core/canonical-json.ts) of its twenty fields as stored — so the verifier, the
 * sealer and a browser holding the event as the API returns it all hash the same bytes.
 * Portable (no Node.js module).
 */
import type { ChangeEvent } from '../audit/change-event.js'
import { canonicalizeParsed } from '../core/canonical-json.js'
import { type MerkleHasher, merkleHasher } from './merkle.js'

const encoder = new TextEncoder()

/** The event's leaf input: canonical JSON of exactly the ChangeEvent fields (extra
 * properties, such as a feed cursor, are left out). */
export function eventLeafBytes(e: ChangeEvent): Uint8Array {
  const fields = {
    eventId: e.eventId,
    hlc: e.hlc,
    wallTime: e.wallTime,
    nodeId: e.nodeId,
    tenantId: e.tenantId,
    txId: e.txId,
    table: e.table,
    recordId: e.recordId,
    operation: e.operation,
    action: e.action,
    actorId: e.actorId,
    actorType: e.actorType,
    oldValues: e.oldValues,
    newValues: e.newValues,
    changedFields: e.changedFields,
    requestId: e.requestId,
    ip: e.ip,
    userAgent: e.userAgent,
    reason: e.reason,
    metadata: e.metadata,
  }
  return encoder.encode(JSON.stringify(canonicalizeParsed(fields)))
}

/** SHA-256(0x00 ‖ eventLeafBytes(e)). */
export function eventLeafHash(e: ChangeEvent, h: MerkleHasher = merkleHasher): Uint8Array {
  return h.leaf(eventLeafBytes(e))
}
