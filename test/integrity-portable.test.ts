/**
 * `audited/proofs` runs outside Node.js: bundled for the browser platform (no Node built-in
 * may be imported), then run in a bare V8 context holding only what browsers have
 * (TextEncoder, atob, btoa, crypto.getRandomValues), where it verifies an inclusion proof
 * and opens the reference signed note.
 */
import assert from 'node:assert/strict'
import { webcrypto } from 'node:crypto'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createContext, runInContext } from 'node:vm'
import { build } from 'esbuild'

it('bundles for the browser and verifies proofs and notes in a context without Node.js', async () => {
  const entry = fileURLToPath(new URL('../packages/audited/src/proofs.ts', import.meta.url))
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'proofs',
    write: false,
    conditions: ['audited-dev'],
    logLevel: 'silent',
  })
  const code = out.outputFiles[0]!.text
  assert.ok(!/require\(|node:/.test(code), 'no Node.js module in the bundle')
  const context = createContext({
    TextEncoder,
    atob,
    btoa,
    crypto: { getRandomValues: (a: Uint8Array) => webcrypto.getRandomValues(a) },
  })
  runInContext(code, context)
  const result = runInContext(
    `(() => {
      const p = proofs
      const leaves = [0, 1, 2, 3, 4].map((i) => p.merkleHasher.leaf(new Uint8Array([i])))
      const root = p.rootOf(leaves)
      const perfect = async (h, i) => p.rootOf(leaves.slice(i * 2 ** h, (i + 1) * 2 ** h))
      const vkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'
      const text = "If you think cryptography is the answer to your problem,\\nthen you don't know what your problem is.\\n"
      const note = text + '\\n\\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\\n'
      return p.inclusionPath(3, 5, perfect).then((path) => ({
        included: p.verifyInclusion(leaves[3], 3, 5, path, root),
        wrong: p.verifyInclusion(leaves[2], 3, 5, path, root),
        opened: p.openNote(note, p.parseVerifierKey(vkey)) === text,
      }))
    })()`,
    context,
  )
  const r = await result
  assert.equal(r.included, true)
  assert.equal(r.wrong, false)
  assert.equal(r.opened, true)
})
