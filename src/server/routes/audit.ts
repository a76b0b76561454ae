import type { App } from '../app.js'
import type { RouteDeps } from './deps.js'

/** Routes: (to be written). */
export async function auditRoutes(_app: App, _deps: RouteDeps): Promise<void> {}
