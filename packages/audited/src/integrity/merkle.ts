/**
 * RFC 6962 / RFC 9162 Merkle trees: leaf and node hashes, roots, inclusion and consistency
 * proofs (built from any source of subtree hashes) and their verification. No Node.js
 * module: this file runs in a browser too (the explorer's "verified" badge).
 */
import { sha256 } from '@noble/hashes/sha2.js'

/** The two hashes of RFC 6962: SHA-256(0x00 ‖ leaf) and SHA-256(0x01 ‖ left ‖ right). */
export interface MerkleHasher {
  leaf(bytes: Uint8Array): Uint8Array
  node(left: Uint8Array, right: Uint8Array): Uint8Array
}

/** The portable hasher (@noble/hashes). */
export const merkleHasher: MerkleHasher = {
  leaf(bytes) {
    const input = new Uint8Array(bytes.length + 1)
    input.set(bytes, 1)
    return sha256(input)
  },
  node(left, right) {
    const input = new Uint8Array(65)
    input[0] = 1
    input.set(left, 1)
    input.set(right, 33)
    return sha256(input)
  },
}

/** The hash of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0))

/** The largest power of two strictly below `n` (n ≥ 2): where RFC 6962 splits a tree. */
export function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

const isOdd = (x: number) => x % 2 === 1
const half = (x: number) => Math.floor(x / 2)

/** Equal bytes, in time independent of where they differ. */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i += 1) d |= a[i]! ^ b[i]!
  return d === 0
}

/** The root of a list of leaf hashes (small trees: tests and segments). */
export function rootOf(leaves: readonly Uint8Array[], h: MerkleHasher = merkleHasher): Uint8Array {
  const range = new CompactRange(h)
  for (const leaf of leaves) range.append(leaf)
  return range.root()
}

/**
 * The right edge of a tree being built one leaf at a time: one hash per set bit of the
 * size, so memory stays O(log n) however many leaves pass through (the verifier and the
 * sealer both append this way).
 */
export class CompactRange {
  readonly #h: MerkleHasher
  #size: number
  /** Perfect subtrees, largest first. */
  #hashes: Uint8Array[]

  constructor(h: MerkleHasher = merkleHasher, size = 0, hashes: readonly Uint8Array[] = []) {
    if (hashes.length !== popCount(size))
      throw new Error('a compact range holds one hash per set bit of its size')
    this.#h = h
    this.#size = size
    this.#hashes = [...hashes]
  }

  get size(): number {
    return this.#size
  }

  /** The perfect subtree hashes (largest first): with the size, all a range needs. */
  get hashes(): readonly Uint8Array[] {
    return this.#hashes
  }

  /**
   * Appends a leaf hash; `onNode(height, index, hash)` sees every perfect subtree completed
   * by it (height ≥ 1), so a store can keep the ones it wants.
   */
  append(leaf: Uint8Array, onNode?: (height: number, index: number, hash: Uint8Array) => void): void {
    let hash = leaf
    let index = this.#size
    let height = 0
    while (isOdd(index)) {
      hash = this.#h.node(this.#hashes.pop()!, hash)
      height += 1
      index = half(index)
      onNode?.(height, index, hash)
    }
    this.#hashes.push(hash)
    this.#size += 1
  }

  /** The tree head of everything appended so far. */
  root(): Uint8Array {
    if (this.#hashes.length === 0) return EMPTY_ROOT
    let r = this.#hashes.at(-1)!
    for (let i = this.#hashes.length - 2; i >= 0; i -= 1) r = this.#h.node(this.#hashes[i]!, r)
    return r
  }
}

/** The number of perfect subtrees of a tree of `n` leaves (its set bits). */
export function popCount(n: number): number {
  let c = 0
  for (let x = n; x > 0; x = half(x)) if (isOdd(x)) c += 1
  return c
}

/** The hash of the perfect subtree of 2^height leaves starting at leaf `index · 2^height`. */
export type PerfectHash = (height: number, index: number) => Promise<Uint8Array>

/** MTH(D[start:end]) from perfect subtree hashes (RFC 6962's splits only ever ask for
 * ranges that decompose this way). */
export async function rangeHash(
  start: number,
  end: number,
  perfect: PerfectHash,
  h: MerkleHasher = merkleHasher,
): Promise<Uint8Array> {
  const n = end - start
  if (n <= 0) return EMPTY_ROOT
  let height = 0
  while (2 ** (height + 1) <= n && start % 2 ** (height + 1) === 0) height += 1
  if (2 ** height === n) return perfect(height, start / 2 ** height)
  const k = splitPoint(n)
  return h.node(await rangeHash(start, start + k, perfect, h), await rangeHash(start + k, end, perfect, h))
}

/** RFC 6962 PATH(m, D[0:n]): the audit path of leaf `m` in the tree of `n` leaves. */
export async function inclusionPath(
  m: number,
  n: number,
  perfect: PerfectHash,
  h: MerkleHasher = merkleHasher,
): Promise<Uint8Array[]> {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 0 && m < n))
    throw new RangeError('leaf index outside the tree')
  const path: Uint8Array[] = []
  const walk = async (m: number, start: number, end: number): Promise<void> => {
    const n = end - start
    if (n <= 1) return
    const k = splitPoint(n)
    if (m < k) {
      await walk(m, start, start + k)
      path.push(await rangeHash(start + k, end, perfect, h))
    } else {
      await walk(m - k, start + k, end)
      path.push(await rangeHash(start, start + k, perfect, h))
    }
  }
  await walk(m, 0, n)
  return path
}

/** RFC 6962 PROOF(m, D[0:n]): proves the tree of `m` leaves is a prefix of the one of `n`. */
export async function consistencyPath(
  m: number,
  n: number,
  perfect: PerfectHash,
  h: MerkleHasher = merkleHasher,
): Promise<Uint8Array[]> {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 0 && m <= n))
    throw new RangeError('consistency needs 0 ≤ from ≤ to')
  if (m === 0 || m === n) return []
  const proof: Uint8Array[] = []
  const sub = async (m: number, start: number, end: number, whole: boolean): Promise<void> => {
    const n = end - start
    if (m === n) {
      if (!whole) proof.push(await rangeHash(start, end, perfect, h))
      return
    }
    const k = splitPoint(n)
    if (m <= k) {
      await sub(m, start, start + k, whole)
      proof.push(await rangeHash(start + k, end, perfect, h))
    } else {
      await sub(m - k, start + k, end, false)
      proof.push(await rangeHash(start, start + k, perfect, h))
    }
  }
  await sub(m, 0, n, true)
  return proof
}

/** RFC 9162 §2.1.3.2: does `path` prove leaf `leafHash` at `index` in the tree `root` of
 * `size` leaves? */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
  h: MerkleHasher = merkleHasher,
): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false
  let fn = index
  let sn = size - 1
  let r = leafHash
  for (const p of path) {
    if (sn === 0) return false
    if (isOdd(fn) || fn === sn) {
      r = h.node(p, r)
      if (!isOdd(fn))
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn)
          sn = half(sn)
        }
    } else {
      r = h.node(r, p)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return sn === 0 && sameHash(r, root)
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree `root1` of `size1` leaves is a prefix of
 * the tree `root2` of `size2`? */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
  h: MerkleHasher = merkleHasher,
): boolean {
  if (!(Number.isSafeInteger(size1) && Number.isSafeInteger(size2) && size1 >= 0 && size1 <= size2))
    return false
  if (size1 === size2) return proof.length === 0 && sameHash(root1, root2)
  if (size1 === 0) return proof.length === 0 && sameHash(root1, EMPTY_ROOT)
  if (proof.length === 0) return false
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof]
  let fn = size1 - 1
  let sn = size2 - 1
  while (isOdd(fn)) {
    fn = half(fn)
    sn = half(sn)
  }
  let fr = path[0]!
  let sr = path[0]!
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (isOdd(fn) || fn === sn) {
      fr = h.node(c, fr)
      sr = h.node(c, sr)
      if (!isOdd(fn))
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn)
          sn = half(sn)
        }
    } else {
      sr = h.node(sr, c)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return sn === 0 && sameHash(fr, root1) && sameHash(sr, root2)
}

const isPowerOfTwo = (n: number) => n > 0 && 2 ** Math.round(Math.log2(n)) === n

/** Lower-case hex, and back (hashes travel as hex in storage, base64 in notes). */
export const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
export function fromHex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new Error('not lower-case hex')
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i += 1) out[i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16)
  return out
}
