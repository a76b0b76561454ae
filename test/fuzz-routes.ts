/** HTTP fuzzing: every fuzzed route, in the order of the former single suite (seeds follow it). */

import type { Route } from './fuzz-route-kit.js'
import { adminRoutes } from './fuzz-routes-admin.js'
import { assetRoutes } from './fuzz-routes-assets.js'
import { auditRoutes } from './fuzz-routes-audit.js'
import { contentRoutes, contentTypePatchRoutes } from './fuzz-routes-content.js'
import { deleteRoutes } from './fuzz-routes-deletes.js'
import { publicRoutes, routerRoutes } from './fuzz-routes-public.js'
import type { Known } from './fuzz-support.js'

/** Every route of the README's HTTP API table, one generator each. Order matters a little:
 * reads and creates first, destructive calls last, so valid ids stay valid for longer. */
export function allRoutes(K: Known): Route[] {
  return [
    ...publicRoutes(K),
    ...adminRoutes(K),
    ...contentRoutes(K),
    ...assetRoutes(K),
    ...auditRoutes(K),
    ...contentTypePatchRoutes(K),
    ...routerRoutes(K),
    ...deleteRoutes(K),
  ]
}
