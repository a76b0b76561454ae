/**
 * audited — atomic, tamper-evident audit trails for TypeScript backends.
 *
 * @example
 * import { openDatabase, migrate, defineEntity, createAuditor } from 'audited'
 */
export { type Auditor, createAuditor } from './audit/auditor.js'
export {
  ACTIONS,
  type Action,
  type ChangeEvent,
  type JsonObject,
  type Operation,
} from './audit/change-event.js'
export type { AuditorHooks, AuditorOptions, BeforeChange, Durability } from './audit/engine-core.js'
export { type ColumnKind, defineEntity, type Entity, type EntityConfig } from './audit/entity.js'
export { type ExportFormat, exportChunks, ndjsonEvent } from './audit/event-export.js'
export { type EventPage, type ListEventsQuery, type PointInTime, toHlc } from './audit/event-queries.js'
export { decodeRow, REDACTED, type Row } from './audit/row-codec.js'
export type { AuditedWriter, CreateOptions, RecordId, WriteOptions } from './audit/write-scope.js'
export { type ActorType, type AuditContext, assertAuditContext, auditContext } from './core/audit-context.js'
export { canonicalize, canonicalJson, type JsonValue, jsonEqual } from './core/canonical-json.js'
export {
  type CodeInfo,
  ERROR_CODES,
  type ErrorCode,
  type ErrorDetails,
  type ErrorReason,
  type ReasonInfo,
  reasonInfo,
} from './core/error-catalogue.js'
export {
  AuditedError,
  type AuditedErrorArgs,
  type AuditedErrorOptions,
  isAuditedError,
  toAuditedError,
} from './core/errors.js'
export { HlcClock, parseHlc, unpackHlc } from './core/hlc.js'
export { createIdFactory } from './core/ids.js'
export type { CommitStats, Dialect, DialectName, PoolStats } from './db/dialect.js'
export type { DatabaseOutcome } from './db/health.js'
export { createIndexIfMissing, type Migration, makeTextExact, migrate } from './db/migrations.js'
export { type AuditedDatabase, type OpenDatabaseOptions, openDatabase } from './db/open-database.js'
export type { ConsumerInfo, ConsumerStatus, FeedHandler, SubscribeOptions } from './feed/consumer.js'
export type { ConsumerStats, Feed, FeedStats, Subscription } from './feed/feed.js'
export type { FeedEvent, FeedPage, FeedQuery } from './feed/feed-reader.js'
export {
  type LeafRanges,
  type ManifestFacts,
  openManifest,
  signManifest,
} from './integrity/archive-manifest.js'
export {
  type ArchiveFinding,
  type ArchiveFindingKind,
  type ArchiveReport,
  type VerifyArchiveOptions,
  verifyArchive,
} from './integrity/archive-verify.js'
export { leafWorkerHasCore } from './integrity/leaf-worker-client.js'
export { type LogState, logKeyOf, type StoredCheckpoint } from './integrity/log-store.js'
export { generateSigningKey, type NoteSigner, nodeHasher, signerFromKey } from './integrity/node-crypto.js'
export { type EventProof, LogProofs } from './integrity/proofs.js'
export {
  type PurgeOptions,
  type PurgeProgress,
  type PurgeReport,
  purgeExpired,
  type RefusedEvent,
  type SegmentSummary,
} from './integrity/purge.js'
export { type SealedCheckpoint, type Sealer, type SealerOptions, startSealer } from './integrity/sealer.js'
export {
  type Finding,
  type FindingKind,
  type VerifyOptions,
  type VerifyReport,
  verifyLogs,
} from './integrity/verify.js'
export { ERASED } from './privacy/field-crypto.js'
export type { EraseResult, PersonalData } from './privacy/personal-data.js'
export type { PersonalFields, PersonalJson, PersonalReader } from './privacy/personal-json.js'
export * from './proofs.js'
