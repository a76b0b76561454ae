/**
 * One tenant's log under verification: its stored leaves (by index range, read ahead) and
 * checkpoints are streamed beside the feed's events, each event paired with its leaf, every
 * checkpoint and witnessed checkpoint checked against the tree rebuilt so far, and what stays
 * unmatched reported. `verifyLogs` (verify.ts) feeds it.
 */
import { FEED_START, type FeedPoint, isAfter } from '../feed/feed-cursor.js'
import { PurgeMarks } from './archive-marks.js'
import type { ArchiveStore } from './archive-store.js'
import { type CheckpointFacts, openCheckpoint } from './checkpoints.js'
import type { LeafRanges } from './leaf-ranges.js'
import {
  type LogStateRead,
  type LogStore,
  type StoredCheckpoint,
  type StoredLeaf,
  tenantOfLogKey,
} from './log-store.js'
import { CompactRange, popCount } from './merkle.js'
import { nodeHasher, nodeSignatureCheck } from './node-crypto.js'
import { nodeToHex, storedLeafBytes } from './node-leaf.js'
import type { Verifier } from './note.js'
import { ahead } from './read-ahead.js'
import type { Recheck } from './verify-reader.js'
import type { Finding } from './verify-report.js'

/** After every feed point: a state row whose last point does not parse judges every event. */
const FEED_END: FeedPoint = { position: 2n ** 63n - 1n, eventId: '\uffff' }

/** Leaves and checkpoints per read. */
const PAGE = 1000
/** Unmatched leaves or events kept per log before they are reported as they are. */
const WINDOW = 100_000

/** One log being checked: its stored leaves and checkpoints are streamed beside its events. */
export class LogCheck {
  readonly tenantId: string | null
  readonly stored = new CompactRange(nodeHasher)
  readonly pendingLeaves = new Map<string, { index: number; hash: string }>()
  readonly pendingEvents = new Map<string, { f: number; hash: string }>()
  feedIndex = 0
  unsealed = 0
  checkpoints = 0
  lastMatch: { f: number; l: number } | undefined
  #marks: PurgeMarks | undefined
  #leafBuf: StoredLeaf[] = []
  #leafAt = 0
  /** The range after `#leafBuf`'s, read while this one is checked. */
  #leafAhead: Promise<StoredLeaf[]> | undefined
  /** The first leaf index of the next range to read. */
  #rangeFrom = 0
  #leafNext = 0
  #cpBuf: StoredCheckpoint[] = []
  #cpAfter = 0
  #cpDone = false
  previousCheckpoint = 0
  readonly witnessed: CheckpointFacts[]

  constructor(
    readonly logKey: string,
    readonly state: LogStateRead | undefined,
    /** The newest checkpoint's size when the run began (later ones are not judged). */
    readonly checkpointLimit: number,
    readonly store: LogStore,
    witnessed: CheckpointFacts[],
    readonly findings: Finding[],
    readonly verifier: Verifier,
    readonly archive: ArchiveStore,
    readonly recheck: Recheck,
    readonly ranges: LeafRanges,
  ) {
    this.tenantId = tenantOfLogKey(logKey)
    this.witnessed = witnessed.sort((a, b) => a.treeSize - b.treeSize)
  }

  /** Events after this point were sealed after the run began (not judged). A state row
   * whose last point does not parse judges them all. */
  get sealedUpTo(): FeedPoint {
    if (this.state === undefined) return FEED_START
    return this.state.last ?? FEED_END
  }

  /** Leaves sealed when the run began, judged; a size that does not parse judges them all. */
  get #size(): number {
    if (this.state === undefined) return 0
    return this.state.size ?? Number.MAX_SAFE_INTEGER
  }

  find(f: Omit<Finding, 'tenantId'>): void {
    this.findings.push({ tenantId: this.tenantId, ...f })
  }

  /** The next leaf to match with an event: a purged event's leaf is not one (its marking
   * is checked against the signed manifests instead). */
  async nextLeaf(): Promise<StoredLeaf | undefined> {
    for (;;) {
      const leaf = await this.#nextStoredLeaf()
      if (leaf?.segmentId === null || leaf?.segmentId === undefined) return leaf
      this.#marks ??= await PurgeMarks.load(this.archive, this.logKey, this.tenantId, this.verifier)
      const forged = this.#marks.forged(leaf)
      if (forged === undefined) continue // a signed purge
      this.find(forged)
      return leaf
    }
  }

  async #nextStoredLeaf(): Promise<StoredLeaf | undefined> {
    // Leaves sealed after the run began are not judged (their events count as unsealed).
    const size = this.#size
    if (this.#leafNext >= size) return undefined
    // Leaves are read by index range (a plan that cannot go wrong without statistics); a
    // range emptied by deletion is skipped, the gap reported below.
    while (this.#leafAt === this.#leafBuf.length) {
      if (this.#rangeFrom >= size) return undefined
      this.#leafBuf = await (this.#leafAhead ?? this.ranges.read(this.logKey, this.#rangeFrom, PAGE))
      this.#leafAt = 0
      this.#rangeFrom += PAGE
      this.#leafAhead = undefined
      if (this.#leafBuf.length === 0) {
        // An empty range: a gap cut by deletion, or the end. The next stored leaf says
        // which, so a size far beyond the leaves is not walked range by range.
        const next = await this.store.nextLeafIndex(this.logKey, this.#rangeFrom)
        this.#rangeFrom = next === undefined ? size : Math.min(next, size)
        continue
      }
      if (this.#rangeFrom < size)
        this.#leafAhead = ahead(this.ranges.read(this.logKey, this.#rangeFrom, PAGE))
    }
    const leaf = this.#leafBuf[this.#leafAt]
    if (leaf === undefined) return undefined
    if (leaf.leafIndex !== this.#leafNext)
      this.find({
        kind: 'deleted',
        leafIndex: this.#leafNext,
        detail: `leaves ${this.#leafNext}…${leaf.leafIndex - 1} are missing from the log`,
      })
    this.#take(leaf)
    await this.#checkpointsAt(this.stored.size)
    return leaf
  }

  /** Takes the buffered `leaf` into the tree rebuilt so far. */
  #take(leaf: StoredLeaf): void {
    this.#leafAt += 1
    this.#leafNext = leaf.leafIndex + 1
    this.stored.append(storedLeafBytes(leaf.leafHash))
  }

  async #nextCheckpoint(): Promise<StoredCheckpoint | undefined> {
    if (this.#cpBuf.length === 0 && !this.#cpDone) {
      this.#cpBuf = await this.store.checkpoints(this.logKey, this.#cpAfter, PAGE)
      if (this.#cpBuf.length < PAGE) this.#cpDone = true
      if (this.#cpBuf.length > 0) this.#cpAfter = this.#cpBuf.at(-1)!.treeSize
    }
    const c = this.#cpBuf[0]
    return c === undefined || c.treeSize > this.checkpointLimit ? undefined : c
  }

  /** Checks every checkpoint and witnessed checkpoint at `size` against the stored tree. */
  async #checkpointsAt(size: number): Promise<void> {
    let root: string | undefined
    const rootNow = () => {
      root ??= nodeToHex(this.stored.root())
      return root
    }
    for (
      let c = await this.#nextCheckpoint();
      c !== undefined && c.treeSize <= size;
      c = await this.#nextCheckpoint()
    ) {
      this.#cpBuf.shift()
      if (c.treeSize < size) continue // reported as missing leaves
      this.checkpoints += 1
      let facts: CheckpointFacts
      try {
        facts = openCheckpoint(c.note, this.verifier, nodeSignatureCheck)
      } catch (e) {
        this.find({
          kind: 'bad_signature',
          treeSize: c.treeSize,
          detail: `checkpoint ${c.treeSize}: ${(e as Error).message}`,
        })
        continue
      }
      if (facts.treeSize !== c.treeSize || facts.rootHash !== c.rootHash || facts.tenantId !== this.tenantId)
        this.find({
          kind: 'bad_signature',
          treeSize: c.treeSize,
          detail: `checkpoint ${c.treeSize}: its row differs from its signed note`,
        })
      if (facts.rootHash !== rootNow())
        this.find({
          kind: 'root_mismatch',
          treeSize: c.treeSize,
          detail: `the log's first ${size} leaves do not hash to checkpoint ${c.treeSize}'s root`,
        })
      if (facts.previousSize !== this.previousCheckpoint)
        this.find({
          kind: 'checkpoint_missing',
          treeSize: c.treeSize,
          detail: `checkpoint ${c.treeSize} follows checkpoint ${facts.previousSize}, which is not in the database`,
        })
      this.previousCheckpoint = c.treeSize
    }
    while (this.witnessed.length > 0 && this.witnessed[0]!.treeSize <= size) {
      const w = this.witnessed.shift()!
      if (w.treeSize < size) continue
      if (w.rootHash !== rootNow())
        this.find({
          kind: 'witness_mismatch',
          treeSize: w.treeSize,
          detail: `the log differs from witnessed checkpoint ${w.treeSize}: it was rewritten`,
        })
      if (!(await this.store.checkpointAt(this.logKey, w.treeSize)))
        this.find({
          kind: 'checkpoint_missing',
          treeSize: w.treeSize,
          detail: `witnessed checkpoint ${w.treeSize} is not in the database`,
        })
    }
  }

  match(f: number, l: number, eventId: string, expected: string, actual: string): void {
    if (expected !== actual) {
      const modified = () =>
        this.find({
          kind: 'modified',
          eventId,
          leafIndex: l,
          detail: `event ${eventId} (leaf ${l}) changed after it was sealed`,
        })
      // Decided by the event read in full (verify-reader.ts): the leaf the database built
      // may differ only in its bytes.
      this.recheck.add({ eventId, expected, modified })
    }
    if (this.lastMatch !== undefined && (f - this.lastMatch.f) * (l - this.lastMatch.l) < 0)
      this.find({
        kind: 'reordered',
        eventId,
        leafIndex: l,
        detail: `event ${eventId} (leaf ${l}) moved in the feed order`,
      })
    this.lastMatch = { f, l }
  }

  leafSeen(leaf: StoredLeaf): void {
    const e = this.pendingEvents.get(leaf.eventId)
    if (e !== undefined) {
      this.pendingEvents.delete(leaf.eventId)
      this.match(e.f, leaf.leafIndex, leaf.eventId, leaf.leafHash, e.hash)
    } else this.pendingLeaves.set(leaf.eventId, { index: leaf.leafIndex, hash: leaf.leafHash })
  }

  eventSeen(eventId: string, f: number, hash: string): void {
    const l = this.pendingLeaves.get(eventId)
    if (l !== undefined) {
      this.pendingLeaves.delete(eventId)
      this.match(f, l.index, eventId, l.hash, hash)
    } else this.pendingEvents.set(eventId, { f, hash })
  }

  /** Checks one event of the feed against the log; a promise only when it had to read. */
  event(eventId: string, point: FeedPoint, hash: string): Promise<void> | undefined {
    if (isAfter(point, this.sealedUpTo)) {
      this.unsealed += 1
      return undefined
    }
    const f = this.feedIndex++
    const quick = this.#quickLeaf()
    if (quick !== null) {
      this.#pair(f, eventId, hash, quick)
      return undefined
    }
    return this.nextLeaf().then((leaf) => this.#pair(f, eventId, hash, leaf))
  }

  #pair(f: number, eventId: string, hash: string, leaf: StoredLeaf | undefined): void {
    if (leaf !== undefined && leaf.eventId === eventId) {
      this.match(f, leaf.leafIndex, eventId, leaf.leafHash, hash)
    } else {
      this.eventSeen(eventId, f, hash)
      if (leaf !== undefined) this.leafSeen(leaf)
    }
    if (this.pendingLeaves.size + this.pendingEvents.size > WINDOW) this.settle()
  }

  /** The next leaf when it needs no read and no check (buffered, in sequence, not purged,
   * no checkpoint or witness at its size); `null` when `nextLeaf` must be asked. */
  #quickLeaf(): StoredLeaf | null {
    const leaf = this.#leafBuf[this.#leafAt]
    if (leaf === undefined || leaf.leafIndex !== this.#leafNext || (leaf.segmentId ?? null) !== null)
      return null
    const size = leaf.leafIndex + 1
    if (size > this.#size) return null
    const cp = this.#cpBuf[0]
    if (cp === undefined ? !this.#cpDone : cp.treeSize <= size) return null
    const w = this.witnessed[0]
    if (w !== undefined && w.treeSize <= size) return null
    this.#take(leaf)
    return leaf
  }

  /** Reports a state row that does not parse, names another tenant, or whose right edge is
   * not the tree's — the last only where nothing else was found in this log (a changed leaf
   * or a cut tail changes the tree, and is reported as such). The sealer extends the stored right edge
   * and signs what it gets: a wrong one would only show in checkpoints to come. */
  #checkState(): void {
    const s = this.state
    if (s === undefined) return
    const shown = (v: string) => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)
    const mismatch = (detail: string) => this.find({ kind: 'state_mismatch', detail })
    const before = this.findings.filter((x) => x.tenantId === this.tenantId).length
    if (s.size === undefined) mismatch(`the log's state row holds no size but ${shown(s.raw.size)}`)
    if (s.last === undefined)
      mismatch(`the log's state row holds no last sealed point but ${shown(s.raw.last)}`)
    if (!s.tenantMatches) mismatch(`the log's state row names another tenant: ${shown(s.raw.tenant)}`)
    if (s.frontier === undefined) {
      mismatch(`the log's state row holds no right edge but ${shown(s.raw.frontier)}`)
      return
    }
    if (s.size === undefined || before > 0) return
    if (s.frontier.length !== popCount(s.size)) {
      mismatch(
        `the log's right edge holds ${s.frontier.length} hashes, not the ${popCount(s.size)} of ${s.size} leaves`,
      )
      return
    }
    if (s.size !== this.stored.size) return
    const tree = this.stored.hashes
    if (tree.some((h, i) => nodeToHex(h) !== nodeToHex(s.frontier![i]!)))
      mismatch(`the log's right edge is not its tree's at ${s.size} leaves`)
  }

  /** Reports what is left unmatched. */
  settle(): void {
    for (const [eventId, l] of this.pendingLeaves)
      this.find({
        kind: 'deleted',
        eventId,
        leafIndex: l.index,
        detail: `event ${eventId} (leaf ${l.index}) was deleted`,
      })
    for (const [eventId] of this.pendingEvents)
      this.find({
        kind: 'inserted',
        eventId,
        detail: `event ${eventId} is in the sealed part of the feed but in no leaf: it was inserted`,
      })
    this.pendingLeaves.clear()
    this.pendingEvents.clear()
  }

  async finish(): Promise<void> {
    for (let leaf = await this.nextLeaf(); leaf !== undefined; leaf = await this.nextLeaf())
      this.leafSeen(leaf)
    this.settle()
    const size = this.stored.size
    const latest = await this.store.latestCheckpoint(this.logKey)
    const claimed = Math.max(
      latest?.treeSize ?? 0,
      this.state?.size ?? 0,
      ...this.witnessed.map((w) => w.treeSize),
    )
    if (claimed > size)
      this.find({
        kind: 'truncated',
        treeSize: claimed,
        detail: `the log holds ${size} leaves, but ${claimed} were sealed: its tail was cut`,
      })
    this.#checkState()
  }
}
