/**
 * The audit explorer's files: the single-page app that `npm run build` bundles into
 * `packages/cms/dist/admin` (source: `packages/cms/ui`), served at `/admin` from the same
 * origin as the API, so it needs no CORS and no CDN.
 *
 * - `/admin/assets/*` are content-hashed: cached for a year (`immutable`).
 * - Any other `/admin/...` path without a file extension is the app's page (`index.html`,
 *   `no-cache`): a reload of a deep link lands in the app (SPA fallback).
 * - Every answer carries a Content-Security-Policy that allows only this origin (no inline
 *   script or style, no framing), `nosniff` and `no-referrer`.
 * - Not built (`dist/admin/index.html` missing): 503 `unavailable` naming the build command.
 */

import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AuditedError } from 'audited'
import type { FastifyReply } from 'fastify'
import type { App } from '../app-type.js'

/** `src/server/routes` and `dist/server/routes` are both three levels below the package. */
const ROOT = fileURLToPath(new URL('../../../dist/admin/', import.meta.url))

export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

const SAFE_PATH = /^[A-Za-z0-9._/-]*$/

export async function explorerRoutes(app: App): Promise<void> {
  const hidden = { schema: { hide: true } }
  app.get('/', hidden, async (_request, reply) => reply.redirect('/admin/', 302))
  app.get('/admin', hidden, async (_request, reply) => reply.redirect('/admin/', 301))
  app.get<{ Params: { '*': string } }>('/admin/*', hidden, async (request, reply) => {
    const rest = request.params['*'] ?? ''
    secure(reply)
    const ext = extname(rest)
    if (ext === '' || rest === 'index.html') return page(reply)
    if (!SAFE_PATH.test(rest) || rest.split('/').includes('..'))
      throw new AuditedError('not_found', 'No such file.')
    const file = normalize(join(ROOT, rest))
    if (!file.startsWith(ROOT)) throw new AuditedError('not_found', 'No such file.')
    const body = await readFile(file).catch(() => undefined)
    if (body === undefined) throw new AuditedError('not_found', 'No such file.')
    reply.header('content-type', TYPES[ext] ?? 'application/octet-stream')
    reply.header(
      'cache-control',
      rest.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
    )
    return reply.send(body)
  })
}

function secure(reply: FastifyReply): void {
  reply.header('content-security-policy', EXPLORER_CSP)
  reply.header('x-content-type-options', 'nosniff')
  reply.header('referrer-policy', 'no-referrer')
  reply.header('x-frame-options', 'DENY')
}

async function page(reply: FastifyReply): Promise<FastifyReply> {
  const html = await readFile(join(ROOT, 'index.html')).catch(() => undefined)
  if (html === undefined)
    throw new AuditedError('unavailable', 'The explorer is not built: run `npm run build`.', {
      details: { reason: 'explorer_not_built' },
    })
  reply.header('content-type', TYPES['.html']!)
  reply.header('cache-control', 'no-cache')
  return reply.send(html)
}
