// Bundles the audit explorer (Preact, TSX) with esbuild into ../dist/admin: content-hashed
// assets under assets/, and index.html naming them. Run by the CMS package's `build`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'dist', 'admin')
rmSync(out, { recursive: true, force: true })
mkdirSync(join(out, 'assets'), { recursive: true })
const result = await build({
  entryPoints: [join(here, 'src', 'main.tsx'), join(here, 'src', 'style.css')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  // audited/proofs from its TypeScript source: the same code whether or not audited is built yet.
  conditions: ['audited-dev'],
  logLevel: 'warning',
})
const outputs = Object.keys(result.metafile.outputs).map((p) => relative(out, p))
const js = outputs.find((p) => p.endsWith('.js'))
const css = outputs.find((p) => p.endsWith('.css'))
const html = readFileSync(join(here, 'index.html'), 'utf8').replace('%JS%', js).replace('%CSS%', css)
writeFileSync(join(out, 'index.html'), html)
const gz = gzipSync(readFileSync(join(out, js))).length
writeFileSync(join(out, 'size.json'), `${JSON.stringify({ js, css, jsGzipBytes: gz })}\n`)
if (process.env.npm_lifecycle_event !== 'prepare')
  console.log(`explorer: ${js} ${(gz / 1024).toFixed(1)} kB gzipped`)
