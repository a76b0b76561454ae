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

/** The event's leaf input as text: canonical JSON of exactly the ChangeEvent fields (extra
 * properties, such as a feed cursor, are left out). The fields are listed in sorted order,
 * so an event as the engine stores it (canonical values) is stringified without a rebuild. */
export function eventLeafText(e: ChangeEvent): string {
  const fields = {
    action: e.action,
    actorId: e.actorId,
    actorType: e.actorType,
    changedFields: e.changedFields,
    eventId: e.eventId,
    hlc: e.hlc,
    ip: e.ip,
    metadata: e.metadata,
    newValues: e.newValues,
    nodeId: e.nodeId,
    oldValues: e.oldValues,
    operation: e.operation,
    reason: e.reason,
    recordId: e.recordId,
    requestId: e.requestId,
    table: e.table,
    tenantId: e.tenantId,
    txId: e.txId,
    userAgent: e.userAgent,
    wallTime: e.wallTime,
  }
  return JSON.stringify(canonicalizeParsed(fields))
}

/** The event's leaf input: the UTF-8 bytes of `eventLeafText`. */
export function eventLeafBytes(e: ChangeEvent): Uint8Array {
  return encoder.encode(eventLeafText(e))
}

/** SHA-256(0x00 ‖ eventLeafBytes(e)). */
export function eventLeafHash(e: ChangeEvent, h: MerkleHasher = merkleHasher): Uint8Array {
  return h.leaf(eventLeafBytes(e))
}
