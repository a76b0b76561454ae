/**
 * What the sealer reads of the feed: per event its point, id, tenant and leaf hash — and
 * the compact form in which a batch crosses from the leaf worker (ids and positions as
 * text, the hashes in one transferred buffer).
 */
import type { ChangeEvent } from '../audit/change-event.js'
import type { FeedPoint } from '../feed/feed-cursor.js'
import { nodeLeafHash } from './node-leaf.js'

export interface SealItem {
  /** Its place in the feed (`point.eventId` is the event's id). */
  readonly point: FeedPoint
  readonly tenantId: string | null
  /** SHA-256(0x00 ‖ canonical bytes of the stored event). */
  readonly leafHash: Uint8Array
}

export interface LeafBatchMessage {
  readonly positions: string[]
  readonly eventIds: string[]
  readonly tenants: (string | null)[]
  /** 32 bytes per event, in order. */
  readonly hashes: Uint8Array
}

/** Rows as the feed reader gives them, hashed. */
export function sealItems(rows: readonly { event: ChangeEvent; point: FeedPoint }[]): SealItem[] {
  return rows.map(({ event, point }) => ({ point, tenantId: event.tenantId, leafHash: nodeLeafHash(event) }))
}

/** Items in their message form. */
export function packLeafBatch(items: readonly SealItem[]): LeafBatchMessage {
  const hashes = new Uint8Array(items.length * 32)
  items.forEach((item, i) => {
    hashes.set(item.leafHash, i * 32)
  })
  return {
    positions: items.map((item) => item.point.position.toString()),
    eventIds: items.map((item) => item.point.eventId),
    tenants: items.map((item) => item.tenantId),
    hashes,
  }
}

/** A message back into items (the hashes are views of its buffer). */
export function unpackLeafBatch(m: LeafBatchMessage): SealItem[] {
  const n = m.positions.length
  if (m.eventIds.length !== n || m.tenants.length !== n || m.hashes.length !== n * 32)
    throw new Error('the leaf worker sent a malformed batch')
  return m.positions.map((position, i) => ({
    point: { position: BigInt(position), eventId: m.eventIds[i]! },
    tenantId: m.tenants[i]!,
    leafHash: m.hashes.subarray(i * 32, i * 32 + 32),
  }))
}
