/**
 * Leaf hashes of the events this process committed, computed from the events as they are
 * serialised for their INSERT (the feed's commit tap) and kept once the COMMIT succeeded,
 * for a sealer in the same process: it
 * then reads only each event's place, id and tenant from the feed, not the whole event —
 * reading, decoding and re-canonicalising the stored events was most of its CPU (a profile
 * on PostgreSQL: ~25 of 38 µs per event). Events committed elsewhere (another process or
 * node), or before the sealer started, or forgotten (the cache is bounded), are read whole
 * and hashed as before.
 *
 * Why this is the leaf of the stored event: the engine stores exactly these values (the
 * rows as the database returned them, canonicalised; the times at millisecond precision
 * the columns keep; text the databases store alike, checked on input), and the test suites
 * seal this way and then verify every leaf from the stored events on each dialect. A row
 * changed in the database between its COMMIT and its sealing is sealed as it was written,
 * so `verify` reports it as modified instead of sealing the change.
 */
import { type PendingEvent, publicEvent } from '../audit/change-event.js'
import { BoundedMap } from '../core/bounded-map.js'
import type { CommitTap } from '../feed/feed.js'
import { nodeLeafHash } from './node-leaf.js'

/** Events remembered: a sealer that falls this far behind reads the older ones whole. */
const ENTRIES = 50_000

export class LeafCache implements CommitTap<readonly (readonly [string, Uint8Array])[]> {
  readonly #hashes = new BoundedMap<string, Uint8Array>(ENTRIES)

  /** As the events are serialised for their INSERT (the same values, the same tick). */
  prepare(events: readonly PendingEvent[]): readonly (readonly [string, Uint8Array])[] {
    return events.map((e) => [e.eventId, nodeLeafHash(publicEvent(e))] as const)
  }

  /** Their transaction committed: remembered. */
  committed(hashes: readonly (readonly [string, Uint8Array])[]): void {
    for (const [eventId, hash] of hashes) this.#hashes.set(eventId, hash)
  }

  /** The leaf hash of an event this process committed, if still remembered. */
  take(eventId: string): Uint8Array | undefined {
    return this.#hashes.get(eventId)
  }
}
