/**
 * Property-based fuzzing (fast-check) of the HTTP API — locales, media and webhooks — on every dialect: bodies,
 * path params, query strings and headers.
 *
 * Properties, checked on every generated request:
 * 1. never a 5xx;
 * 2. a 4xx changes no row and writes no event (row counts of change_events and of every CMS
 *    table, plus the newest event id, are equal before and after — any write adds an event);
 * 3. every error body is `{ error: { code, message, details?, requestId } }` with a catalogue
 *    code, the catalogue's status, the response's request id, and no stack trace, SQL or file
 *    path (unless the client sent that text itself and it is echoed back in `details`).
 *
 * Reproduce a failure with the printed seed: `FUZZ_SEED=<seed> node --import tsx --test
 * test/http-fuzz-assets.test.ts`; `FUZZ_RUNS` sets the runs per route (default 30).
 */
import { assetRoutes } from './fuzz-routes-assets.js'
import { fuzzRoutes } from './fuzz-suite.js'

fuzzRoutes('http fuzz assets', assetRoutes)
