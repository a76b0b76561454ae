import { inRanges, type ManifestFacts, openManifest } from './archive-manifest.js'
import type { ArchiveStore } from './archive-store.js'
import type { StoredLeaf } from './log-store.js'
import type { Verifier } from './note.js'

/**
 * The purge markings of one log as the verifier judges them: a leaf marked with a segment
 * is a purge (not a deletion) only when that segment's row holds a manifest validly signed
 * by the log's key, for this log, listing the leaf's index below the checkpoint it names.
 */
export class PurgeMarks {
  readonly #valid = new Map<string, ManifestFacts>()
  readonly #invalid = new Map<string, string>()

  private constructor(readonly tenantId: string | null) {}

  static async load(
    store: ArchiveStore,
    logKey: string,
    tenantId: string | null,
    verifier: Verifier,
  ): Promise<PurgeMarks> {
    const marks = new PurgeMarks(tenantId)
    for (const s of await store.segments(logKey)) {
      try {
        const facts = openManifest(s.note, verifier)
        if (facts.tenantId !== tenantId || facts.segmentId !== s.segmentId)
          marks.#invalid.set(s.segmentId, 'its manifest is for another segment or log')
        else marks.#valid.set(s.segmentId, facts)
      } catch (e) {
        marks.#invalid.set(s.segmentId, `its manifest: ${(e as Error).message}`)
      }
    }
    return marks
  }

  /** Undefined when the leaf's purge marking is covered; else why not. */
  problem(leaf: StoredLeaf): string | undefined {
    const id = leaf.segmentId
    if (id === null || id === undefined) return 'it is not marked purged'
    const invalid = this.#invalid.get(id)
    if (invalid !== undefined) return `segment ${id} is not validly signed (${invalid})`
    const facts = this.#valid.get(id)
    if (facts === undefined) return `segment ${id} has no manifest in the database`
    if (!inRanges(facts.ranges, leaf.leafIndex) || leaf.leafIndex >= facts.checkpointSize)
      return `segment ${id}'s signed manifest does not list leaf ${leaf.leafIndex}`
    return undefined
  }

  /** The verifier's finding for a purge marking no signed manifest covers (else undefined). */
  forged(leaf: StoredLeaf) {
    const problem = this.problem(leaf)
    if (problem === undefined) return undefined
    return {
      kind: 'forged_purge' as const,
      eventId: leaf.eventId,
      leafIndex: leaf.leafIndex,
      detail: `leaf ${leaf.leafIndex} (event ${leaf.eventId}) is marked purged, but ${problem}`,
    }
  }
}
