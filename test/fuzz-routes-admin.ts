/** HTTP fuzzing routes — Tenants, users and tokens. */
import fc from 'fast-check'
import { email, goodEmail, goodName, goodPage, goodPassword, goodRole, role } from './fuzz-bodies.js'
import { query, seg, valid } from './fuzz-requests.js'
import { api, constPath, pageKeys, type Route, routeParts } from './fuzz-route-kit.js'
import type { Known } from './fuzz-support.js'
import { mutated, number, text } from './fuzz-values.js'

export function adminRoutes(K: Known): Route[] {
  const { userIdSeg, R } = routeParts(K)
  return [
    [
      'GET /api/v1/tenants/:id',
      R({
        valid: valid(fc.constantFrom(K.tenantId, K.otherTenantId).map((id) => api('tenants', id))),
        method: 'GET',
        path: seg([K.tenantId, K.otherTenantId]).map((id) => api('tenants', id)),
      }),
    ],
    [
      'POST /api/v1/tenants',
      R({
        valid: valid(constPath(api('tenants')), fc.record({ name: goodName })),
        method: 'POST',
        path: constPath(api('tenants')),
        body: mutated(fc.record({ name: text })),
      }),
    ],
    [
      'PATCH /api/v1/tenants/:id',
      R({
        valid: valid(
          constPath(api('tenants', K.otherTenantId)),
          fc.record({
            limits: fc.record({
              writesPerSecond: fc.integer({ min: 1000, max: 100_000 }),
              burst: fc.integer({ min: 1000, max: 1_000_000 }),
              maxEntries: fc.integer({ min: 1000, max: 100_000_000 }),
            }),
          }),
        ),
        method: 'PATCH',
        // Not this tenant: a tight limit here would turn the rest of the run into 429s.
        path: seg([K.otherTenantId]).map((id) => api('tenants', id)),
        body: mutated(
          fc.record({
            limits: mutated(
              fc.record(
                {
                  writesPerSecond: fc.oneof(fc.integer({ min: 1, max: 100_000 }), number),
                  burst: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), number),
                  maxEntries: fc.oneof(fc.integer({ min: 1, max: 100_000_000 }), number),
                },
                { requiredKeys: [] },
              ),
            ),
          }),
        ),
      }),
    ],
    [
      'GET /api/v1/users',
      R({
        valid: valid(constPath(api('users')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('users')),
        query: query([...pageKeys(K), ['role', role.map(String)]]),
      }),
    ],
    [
      'GET /api/v1/users/:id',
      R({
        valid: valid(fc.constantFrom(K.adminUserId, ...K.userIds).map((id) => api('users', id))),
        method: 'GET',
        path: userIdSeg.map((id) => api('users', id)),
      }),
    ],
    [
      'POST /api/v1/users',
      R({
        valid: valid(
          constPath(api('users')),
          fc.record(
            { email: goodEmail, password: goodPassword, role: goodRole, name: fc.option(goodName) },
            { requiredKeys: ['email', 'password', 'role'] },
          ),
        ),
        method: 'POST',
        path: constPath(api('users')),
        body: mutated(
          fc.record(
            {
              email,
              password: fc.oneof(fc.string({ minLength: 8, maxLength: 20 }), text),
              role,
              name: fc.oneof(text, fc.constant(null)),
            },
            { requiredKeys: ['email', 'password', 'role'] },
          ),
        ),
      }),
    ],
    [
      'PATCH /api/v1/users/:id',
      R({
        valid: valid(
          fc.constantFrom(...K.userIds).map((id) => api('users', id)),
          fc.oneof(
            fc.record({ name: fc.option(goodName) }),
            fc.record({ role: goodRole }),
            fc.record({ password: goodPassword }),
          ),
        ),
        method: 'PATCH',
        // Not the admin's own account: a password change would end the session the run uses.
        path: seg([...K.userIds, K.otherUserId]).map((id) => api('users', id)),
        body: mutated(
          fc.record(
            {
              name: fc.oneof(text, fc.constant(null)),
              role,
              password: fc.oneof(fc.string({ minLength: 8, maxLength: 20 }), text),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
    ],
    [
      'GET /api/v1/tokens',
      R({
        valid: valid(constPath(api('tokens')), undefined, goodPage),
        method: 'GET',
        path: constPath(api('tokens')),
        query: query([...pageKeys(K), ['kind', fc.oneof(fc.constantFrom('api', 'session'), text)]]),
      }),
    ],
    [
      'POST /api/v1/tokens',
      R({
        valid: valid(constPath(api('tokens')), fc.record({ name: goodName, role: goodRole })),
        method: 'POST',
        path: constPath(api('tokens')),
        body: mutated(fc.record({ name: text, role })),
      }),
    ],
  ]
}
