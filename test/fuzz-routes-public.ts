/** HTTP fuzzing routes — Public routes: probes, docs, login and roles. Router level: malformed path parameters and unmatched routes. */
import fc from 'fast-check'
import { email, goodPassword } from './fuzz-bodies.js'
import { ROUTER_BAD_SEGMENTS, seg, valid } from './fuzz-requests.js'
import { api, constPath, type Route, routeParts } from './fuzz-route-kit.js'
import type { Known, Method } from './fuzz-support.js'
import { enc, mutated, text } from './fuzz-values.js'
import { ADMIN } from './http-setup.js'

export function publicRoutes(K: Known): Route[] {
  const { R } = routeParts(K)
  return [
    ['GET /health', R({ valid: valid(constPath('/health')), method: 'GET', path: constPath('/health') })],
    ['GET /ready', R({ valid: valid(constPath('/ready')), method: 'GET', path: constPath('/ready') })],
    ['GET /metrics', R({ valid: valid(constPath('/metrics')), method: 'GET', path: constPath('/metrics') })],
    [
      'GET /openapi.json',
      R({ valid: valid(constPath('/openapi.json')), method: 'GET', path: constPath('/openapi.json') }),
    ],
    [
      'GET /docs',
      R({
        valid: valid(fc.constantFrom('/docs', '/docs/', '/docs/json', '/docs/static/index.html')),
        method: 'GET',
        path: fc.oneof(
          fc.constantFrom('/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/index.html'),
          fc.constantFrom('/docs/static/../../../package.json', '/docs/%2e%2e/%2e%2e/package.json'),
          fc.constantFrom('/docs/static/%00', '/docs/static/..%2f..%2fpackage.json', '/docs//etc/passwd'),
          seg([]).map((s) => `/docs/static/${s}`),
        ),
      }),
    ],
    [
      'POST /api/v1/auth/login',
      R({
        valid: valid(
          constPath(api('auth', 'login')),
          fc.record({
            email: fc.constantFrom(ADMIN.email, ADMIN.email.toUpperCase()),
            password: fc.oneof(fc.constant(ADMIN.password), goodPassword),
          }),
        ),
        method: 'POST',
        path: constPath(api('auth', 'login')),
        body: mutated(
          fc.record({
            email,
            password: fc.oneof(fc.constant(ADMIN.password), text, fc.constant('p'.repeat(201))),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/roles',
      R({ valid: valid(constPath(api('roles'))), method: 'GET', path: constPath(api('roles')) }),
    ],
  ]
}

export function routerRoutes(K: Known): Route[] {
  const { R } = routeParts(K)
  return [
    [
      'malformed and overlong path parameters (every route with parameters)',
      fc.tuple(fc.constantFrom(...PARAM_ROUTES), fc.nat()).chain(([[method, template], n]) => {
        const params = template.split('/').filter((x) => x.startsWith(':')).length
        return R({
          method,
          path: ROUTER_BAD_SEGMENTS.map((bad) => {
            let k = 0
            return template.replace(/:(\w+)/g, (_m, name: string) =>
              k++ === n % params ? bad : enc(paramValue(K, name)),
            )
          }),
        })
      }),
    ],
    [
      'unmatched routes and methods',
      R({
        method: 'GET',
        path: fc.oneof(
          fc
            .array(seg(['api', 'v1', 'entries', 'users', 'audit', 'article', K.entryId]), { maxLength: 6 })
            .map((parts) => `/${parts.join('/')}`),
          fc.constantFrom(
            '//api/v1/roles',
            '/api/v1/roles/',
            '/API/V1/ROLES',
            '/api/v1/../v1/roles',
            '/api/v1/%2e%2e/v1/roles',
            '/api/v2/roles',
            '/api/v1/entries',
            '/api/v1/audit/history/entries',
            '/api/v1/tenants',
            '*',
          ),
        ),
      }),
    ],
  ]
}

/** Every route with path parameters, for the router-level property. */
export const PARAM_ROUTES: readonly (readonly [Method, string])[] = [
  ['GET', '/api/v1/tenants/:id'],
  ['PATCH', '/api/v1/tenants/:id'],
  ['GET', '/api/v1/users/:id'],
  ['PATCH', '/api/v1/users/:id'],
  ['DELETE', '/api/v1/users/:id'],
  ['DELETE', '/api/v1/tokens/:id'],
  ['GET', '/api/v1/content-types/:key'],
  ['PATCH', '/api/v1/content-types/:key'],
  ['DELETE', '/api/v1/content-types/:key'],
  ['GET', '/api/v1/entries/:type'],
  ['POST', '/api/v1/entries/:type'],
  ['GET', '/api/v1/entries/:type/:id'],
  ['PATCH', '/api/v1/entries/:type/:id'],
  ['DELETE', '/api/v1/entries/:type/:id'],
  ['POST', '/api/v1/entries/:type/:id/publish'],
  ['POST', '/api/v1/entries/:type/:id/unpublish'],
  ['GET', '/api/v1/webhooks/:id'],
  ['PATCH', '/api/v1/webhooks/:id'],
  ['DELETE', '/api/v1/webhooks/:id'],
  ['GET', '/api/v1/audit/events/:eventId'],
  ['GET', '/api/v1/audit/history/:table/:id'],
  ['GET', '/api/v1/audit/state/:table/:id'],
  ['POST', '/api/v1/audit/restore/:table/:id'],
  ['POST', '/api/v1/subjects/:id/erase'],
  ['GET', '/api/v1/subjects/:id/export'],
]

/** A real value for a path parameter (the other parameters of the router-level property). */
export function paramValue(K: Known, name: string): string {
  switch (name) {
    case 'key':
    case 'type':
      return 'article'
    case 'table':
      return 'entries'
    case 'eventId':
      return K.events[0]?.eventId ?? K.otherEventId
    default:
      return K.entryId
  }
}
