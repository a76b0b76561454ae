/**
 * The Merkle and signed-note primitives against the published reference vectors: the
 * RFC 6962 test tree of transparency-dev/merkle and Certificate Transparency, and the
 * golang.org/x/mod/sumdb/note example key and note. Interoperability is the point: a log
 * nobody else's tools can check proves nothing.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  CompactRange,
  consistencyPath,
  EMPTY_ROOT,
  fromHex,
  inclusionPath,
  merkleHasher,
  rootOf,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from '../packages/audited/src/integrity/merkle.js'
import {
  generateSigningKey,
  nodeHasher,
  signerFromKey,
} from '../packages/audited/src/integrity/node-crypto.js'
import {
  formatCheckpoint,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  signNote,
} from '../packages/audited/src/integrity/note.js'

const DATA = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex)
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]
const LEAVES = DATA.map((d) => merkleHasher.leaf(d))

/** Perfect subtree hashes straight from a list of leaves (the reference for the store). */
const perfectOf =
  (leaves: readonly Uint8Array[]) =>
  async (height: number, index: number): Promise<Uint8Array> =>
    rootOf(leaves.slice(index * 2 ** height, (index + 1) * 2 ** height))

describe('RFC 6962 Merkle trees', () => {
  it('gives the published root for every size 0..8, with both hashers', () => {
    assert.equal(toHex(EMPTY_ROOT), ROOTS[0])
    for (let n = 0; n <= 8; n += 1) {
      assert.equal(toHex(rootOf(LEAVES.slice(0, n))), ROOTS[n], `size ${n}`)
      const fast = DATA.slice(0, n).map((d) => nodeHasher.leaf(d))
      assert.equal(toHex(rootOf(fast, nodeHasher)), ROOTS[n], `size ${n} (node:crypto)`)
    }
  })

  it('builds the published inclusion and consistency proofs', async () => {
    const p = perfectOf(LEAVES)
    assert.deepEqual((await inclusionPath(0, 8, p)).map(toHex), [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ])
    assert.deepEqual((await inclusionPath(5, 8, p)).map(toHex), [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ])
    assert.deepEqual((await consistencyPath(2, 8, p)).map(toHex), [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ])
    assert.deepEqual((await consistencyPath(2, 5, p)).map(toHex), [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ])
  })

  it('verifies every proof of every tree up to 40 leaves, and rejects each altered one', async () => {
    const leaves = Array.from({ length: 40 }, (_, i) => merkleHasher.leaf(new Uint8Array([i, i * 7])))
    const p = perfectOf(leaves)
    const roots = Array.from({ length: 41 }, (_, n) => rootOf(leaves.slice(0, n)))
    for (let n = 1; n <= 40; n += 1) {
      for (let i = 0; i < n; i += 1) {
        const path = await inclusionPath(i, n, p)
        assert.ok(verifyInclusion(leaves[i]!, i, n, path, roots[n]!), `leaf ${i} of ${n}`)
        if (n > 1) assert.ok(!verifyInclusion(leaves[i]!, (i + 1) % n, n, path, roots[n]!), 'wrong index')
        assert.ok(!verifyInclusion(leaves[(i + 1) % 40]!, i, n, path, roots[n]!), 'wrong leaf')
        if (path.length > 0) {
          const bad = path.map((x) => x.slice())
          bad[0]![0]! ^= 1
          assert.ok(!verifyInclusion(leaves[i]!, i, n, bad, roots[n]!), 'altered path')
        }
      }
      for (let m = 0; m <= n; m += 1) {
        const proof = await consistencyPath(m, n, p)
        assert.ok(verifyConsistency(m, n, proof, roots[m]!, roots[n]!), `${m} → ${n}`)
        if (m > 0 && m < n) {
          assert.ok(!verifyConsistency(m, n, proof, roots[m - 1]!, roots[n]!), 'wrong first root')
          assert.ok(!verifyConsistency(m, n, proof, roots[m]!, roots[n - 1]!), 'wrong second root')
          assert.ok(!verifyConsistency(m, n, proof.slice(0, -1), roots[m]!, roots[n]!), 'short proof')
        }
      }
    }
  })

  it('keeps a compact range that resumes from its stored hashes', () => {
    const leaves = Array.from({ length: 300 }, (_, i) => merkleHasher.leaf(new Uint8Array([i % 256, i >> 8])))
    const a = new CompactRange()
    const nodes: string[] = []
    for (const [i, l] of leaves.entries()) {
      if (i === 137) {
        const b = new CompactRange(merkleHasher, a.size, a.hashes)
        assert.equal(toHex(b.root()), toHex(a.root()))
      }
      a.append(l, (height, index) => {
        if (height === 8) nodes.push(`${height}/${index}`)
      })
    }
    assert.equal(toHex(a.root()), toHex(rootOf(leaves)))
    assert.deepEqual(nodes, ['8/0'], 'the one complete subtree of 256 leaves')
  })
})

describe('C2SP signed notes', () => {
  // golang.org/x/mod/sumdb/note's example (note_test.go), used as data.
  const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'
  const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'
  const TEXT =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
  const NOTE = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`

  it('signs the reference note byte for byte and opens it with the reference verifier key', () => {
    const signer = signerFromKey(SKEY)
    assert.equal(signer.verifierKey, VKEY)
    assert.equal(signNote(TEXT, signer.name, signer.publicKey, signer.sign), NOTE)
    assert.equal(openNote(NOTE, parseVerifierKey(VKEY)), TEXT)
  })

  it('rejects an altered text, a foreign key, a malformed note and mangled keys', () => {
    const v = parseVerifierKey(VKEY)
    assert.throws(() => openNote(NOTE.replace('cryptography', 'cryptographY'), v), /bad signature/)
    const other = signerFromKey(generateSigningKey('PeterNeumann'))
    const forged = signNote(TEXT, other.name, other.publicKey, other.sign)
    assert.throws(() => openNote(forged, v), /no signature by PeterNeumann/)
    assert.throws(() => openNote(TEXT, v), /malformed/)
    assert.throws(() => parseVerifierKey(VKEY.replace('c74f20a3', 'c74f20a4')), /does not match/)
    assert.throws(() => parseVerifierKey(`${VKEY}+x`))
    assert.throws(() => signerFromKey(SKEY.replace('c74f20a3', 'c74f20a4')), /does not match/)
  })

  it('formats and parses checkpoints', () => {
    const body = formatCheckpoint({
      origin: 'example/log',
      size: 8,
      root: fromHex(ROOTS[8]!),
      extensions: ['time 1'],
    })
    assert.equal(body, `example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntime 1\n`)
    const c = parseCheckpoint(body)
    assert.equal(c.size, 8)
    assert.equal(toHex(c.root), ROOTS[8])
    assert.throws(() => parseCheckpoint('example/log\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n'))
  })
})
