/**
 * audited — atomic, tamper-evident audit trails for TypeScript backends.
 *
 * @example
 * import { openDatabase, migrate, defineEntity, createAuditor } from 'audited'
 */
export { type Auditor, createAuditor } from './audit/auditor.js'
export type { Action, ChangeEvent, JsonObject, Operation } from './audit/change-event.js'
export type { AuditorHooks, AuditorOptions, BeforeChange } from './audit/engine-core.js'
export { type ColumnKind, defineEntity, type Entity, type EntityConfig } from './audit/entity.js'
export type { EventPage, ListEventsQuery, PointInTime } from './audit/event-queries.js'
export { REDACTED } from './audit/row-codec.js'
export type { AuditedWriter, CreateOptions, RecordId, WriteOptions } from './audit/write-scope.js'
export { type ActorType, type AuditContext, assertAuditContext } from './core/audit-context.js'
export { canonicalize, canonicalJson, type JsonValue } from './core/canonical-json.js'
export {
  AuditedError,
  type AuditedErrorOptions,
  ERROR_CODES,
  type ErrorCode,
  isAuditedError,
  toAuditedError,
} from './core/errors.js'
export { HlcClock, parseHlc, unpackHlc } from './core/hlc.js'
export type { DialectName } from './db/dialect.js'
export { type Migration, migrate } from './db/migrations.js'
export { type AuditedDatabase, type OpenDatabaseOptions, openDatabase } from './db/open-database.js'
