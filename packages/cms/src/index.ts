/**
 * @audited/cms — the reference headless CMS built on `audited`, as a library: build the
 * Fastify app yourself (`buildApp`), or run the whole server (`serve`, what `audited serve`
 * does) from a configuration read from the environment (`loadConfig`).
 */

export { CMS_MIGRATIONS } from './cms/schema.js'
export { type App, type AppOptions, buildApp } from './server/app.js'
export { loadConfig, type ServerConfig } from './server/config.js'
export { serve } from './server/serve.js'
