import type { App } from '../app-type.js'
import { contentTypeRoutes } from './content-types.js'
import type { RouteDeps } from './deps.js'
import { entryRoutes } from './entries.js'

/** The field types a content type may declare (the domain's list, re-exported for clients of the routes). */
export { FIELD_TYPES } from '../../cms/content-fields.js'

/** Content types and entries: `/api/v1/content-types…` and `/api/v1/entries/:type…`. */
export async function contentRoutes(app: App, deps: RouteDeps): Promise<void> {
  contentTypeRoutes(app, deps)
  entryRoutes(app, deps)
}
