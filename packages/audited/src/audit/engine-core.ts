import { hostname } from 'node:os'
import type { Compilable, Kysely } from 'kysely'
import type { AuditContext } from '../core/audit-context.js'
import { AuditedError, isAuditedError } from '../core/errors.js'
import { HlcClock } from '../core/hlc.js'
import { createIdFactory } from '../core/ids.js'
import { textProblem } from '../core/text-rules.js'
import type { Dialect, Statement } from '../db/dialect.js'
import type { AuditedDatabase } from '../db/open-database.js'
import type { Transaction } from '../db/transaction.js'
import { masterKeyOf, SubjectKeys } from '../privacy/subject-keys.js'
import type { Action, ChangeEvent, Operation } from './change-event.js'
import type { Entity } from './entity.js'
import type { Row } from './row-codec.js'
import { EntityStatements, EventStatements } from './statements.js'

/** What a `before` hook sees. It runs inside the transaction; throwing rejects the write. */
export interface BeforeChange {
  readonly operation: Operation
  readonly action: Action
  readonly table: string
  readonly recordId: string
  /** Unmasked states (hooks run on the server; events mask redacted fields). */
  readonly before: Row | null
  readonly after: Row | null
  readonly changedFields: readonly string[]
  readonly ctx: AuditContext
  /**
   * Runs a read (a Kysely query, e.g. `db.kysely.selectFrom(…)`) on the write's own
   * transaction: it sees the transaction's writes and needs no second connection — a hook
   * that read through the pool could wait forever for a connection while holding one.
   */
  readonly read: <R = Record<string, unknown>>(query: Compilable) => Promise<R[]>
  /**
   * Queues a write whose answer the hook does not need (e.g. a counter) to run in this
   * transaction with its COMMIT, after the event rows: no round trip of its own, and row
   * locks it takes are held only while the transaction commits. Its failure fails the commit.
   */
  readonly defer: (query: Compilable) => void
  /** The same object on every attempt of one logical transaction: a deadlock re-runs the
   * transaction body, and its hooks, on a new connection. */
  readonly transaction: object
  /** This write's position in its transaction's attempt (0 first): with `transaction`, it
   * names the same logical write on a re-run. */
  readonly writeIndex: number
}

export interface AuditorHooks {
  /** Inside the transaction, after the row is written and before COMMIT. A thrown
   * `AuditedError` keeps its code (e.g. `rate_limited` from a quota check); anything else
   * becomes `rejected` (422) with the hook's message kept only as the cause, for logs. */
  readonly before?:
    | ((change: BeforeChange) => void | Promise<void>)
    | readonly ((change: BeforeChange) => void | Promise<void>)[]
  /**
   * A durable feed consumer (named `afterConsumer`): every committed event, in feed order,
   * at least once, in whichever process holds the consumer's lease — also events committed
   * while no process ran. A hook that throws makes the batch retry with backoff, then park
   * (see `SubscribeOptions`); it never fails the write. A new consumer starts at the
   * newest event. Stop it with `auditor.close()`.
   */
  readonly after?:
    | ((event: ChangeEvent) => void | Promise<void>)
    | readonly ((event: ChangeEvent) => void | Promise<void>)[]
  /** Where `after` hook failures are reported (default: a process warning). */
  readonly onHookError?: (error: unknown, event: ChangeEvent) => void
  /** The `after` hooks' consumer name (default `audited.after-hooks`). */
  readonly afterConsumer?: string
  /**
   * In the writing process, right after its COMMIT, with the transaction's events; not
   * durable (a crash right after COMMIT skips it). For local counters and metrics.
   */
  readonly committed?: (events: readonly ChangeEvent[]) => void
}

export interface AuditorOptions {
  readonly db: AuditedDatabase
  /** This process's id in events and HLCs; unique per process (default `<hostname>-<pid>`). */
  readonly nodeId?: string
  /** Bound on every write call, connection wait to COMMIT (ms, default 5000). */
  readonly timeoutMs?: number
  readonly hooks?: AuditorHooks
  /** The clock (default: one shared by every auditor of the process; tests inject one). */
  readonly clock?: HlcClock
  /**
   * `full` (default): a write returns once the database has made its COMMIT durable (SQLite
   * per `openDatabase`'s `synchronous`). `relaxed`: COMMIT returns before the database
   * flushes it. PostgreSQL: `SET LOCAL synchronous_commit = off` per transaction, with BEGIN
   * (no extra round trip); a server or machine crash may lose the last ≤ ~600 ms of commits
   * (3 × wal_writer_delay). SQLite: `synchronous = OFF` on the writer connection (for every
   * write on that database handle; WAL stays): an application crash loses nothing, an OS
   * crash or power loss may lose the newest commits. Whatever is lost, a row and its event
   * go together: they are one transaction, which recovery keeps whole or drops whole.
   * MySQL/MariaDB: a validation error (their alternative is the server-wide
   * `innodb_flush_log_at_trx_commit = 2`). See README "Durability".
   */
  readonly durability?: Durability
  /** Encrypts entities' `personal` columns in events under a key per data subject,
   * wrapped by `masterKey` (32 bytes or their base64); see README "Personal data". */
  readonly personalData?: { readonly masterKey: string | Uint8Array }
}

export type Durability = 'full' | 'relaxed'

/** The dialect's way to relax durability, undefined for `full`; a value other than the two,
 * or `relaxed` where the database cannot do it per transaction, is a validation error. */
function durabilityOf(dialect: Dialect, durability: unknown) {
  if (durability === undefined || durability === 'full') return undefined
  if (durability !== 'relaxed')
    throw new AuditedError('validation', "durability must be 'full' or 'relaxed'.", {
      details: { name: 'durability' },
    })
  const relaxed = dialect.relaxedDurability
  if (!relaxed.supported)
    throw new AuditedError('validation', relaxed.reason, {
      details: { name: 'durability', dialect: dialect.name },
    })
  return relaxed
}

/** One clock per process unless a caller brings its own: every auditor of the process
 * then issues strictly increasing HLCs and shares the open-transaction registry. */
const PROCESS_CLOCK = new HlcClock()

const asList = <T>(v: T | readonly T[] | undefined): readonly T[] =>
  v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T]

/** Shared state of one auditor: configuration, clock, statement caches, known columns. */
export class EngineCore {
  readonly db: AuditedDatabase
  readonly dialect: Dialect
  // biome-ignore lint/suspicious/noExplicitAny: the engine addresses the application's tables by name.
  readonly kysely: Kysely<any>
  /** Event queries read here (see `AuditedDatabase.readKysely`). */
  // biome-ignore lint/suspicious/noExplicitAny: as `kysely`.
  readonly readKysely: Kysely<any>
  readonly clock: HlcClock
  readonly nodeId: string
  readonly timeoutMs: number
  readonly eventStatements: EventStatements
  readonly newEventId = createIdFactory()
  /** Sent after BEGIN in every write transaction (relaxed durability on PostgreSQL). */
  readonly afterBegin: readonly Statement[]
  /** Settles once the writer connection is relaxed (SQLite); writes wait for it. */
  readonly ready: Promise<void> | undefined
  readonly #hooksBefore: readonly ((change: BeforeChange) => void | Promise<void>)[]
  readonly hooksAfter: readonly ((event: ChangeEvent) => void | Promise<void>)[]
  readonly onHookError: (error: unknown, event: ChangeEvent) => void
  /** Keyed by the definition itself: two entities over one table (one tenant-scoped, one
   * not; different version columns) compile different SQL (issue 7 S1). */
  readonly #statements = new WeakMap<Entity<object>, EntityStatements>()
  readonly #columns = new Map<string, Set<string>>()
  /** Where `personalData` is configured: the subjects' data keys. */
  readonly subjectKeys: SubjectKeys | undefined

  constructor(options: AuditorOptions) {
    if (typeof options?.db?.capabilities !== 'object') {
      throw new AuditedError('validation', 'createAuditor needs { db } from openDatabase().')
    }
    const timeoutMs = options.timeoutMs ?? 5000
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
      throw new AuditedError('validation', 'timeoutMs must be > 0.')
    const nodeId = options.nodeId ?? `${hostname()}-${process.pid}`
    if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.length > 64) {
      throw new AuditedError('validation', 'nodeId must be 1 to 64 characters.')
    }
    const problem = textProblem(nodeId)
    if (problem !== undefined) throw new AuditedError('validation', `nodeId must not contain ${problem}.`)
    this.db = options.db
    this.dialect = options.db.capabilities
    const relaxed = durabilityOf(this.dialect, options.durability)
    this.afterBegin = (relaxed?.afterBegin ?? []).map((sql) => ({ sql, parameters: [] }))
    this.ready = relaxed?.relaxWriter?.()
    // A failure is the first write's to report; it must not be an unhandled rejection.
    this.ready?.catch(() => {})
    this.kysely = options.db.kysely
    this.readKysely = options.db.readKysely
    this.clock = options.clock ?? PROCESS_CLOCK
    this.nodeId = nodeId
    this.timeoutMs = timeoutMs
    this.eventStatements = new EventStatements(this.kysely, this.dialect)
    this.subjectKeys =
      options.personalData === undefined
        ? undefined
        : new SubjectKeys(
            masterKeyOf(options.personalData.masterKey),
            this.kysely,
            this.dialect,
            this.newEventId,
          )
    this.#hooksBefore = asList(options.hooks?.before)
    this.hooksAfter = asList(options.hooks?.after)
    this.onHookError =
      options.hooks?.onHookError ??
      ((error, event) =>
        process.emitWarning(`audited: an after hook failed for event ${event.eventId}: ${String(error)}`))
  }

  statements(entity: Entity<object>): EntityStatements {
    let st = this.#statements.get(entity)
    if (st === undefined) {
      st = new EntityStatements(this.kysely, this.dialect, entity)
      this.#statements.set(entity, st)
    }
    return st
  }

  /** The table's column names, read once per auditor through the caller's transaction
   * (on SQLite the transaction holds the only connection). */
  async columnsOf(entity: Entity<object>, tx: Transaction): Promise<Set<string>> {
    const cached = this.#columns.get(entity.table)
    if (cached !== undefined) return cached
    const [r] = await tx.run([{ sql: this.dialect.columnsSql, parameters: [entity.table] }], {
      readOnly: true,
    })
    const names = new Set(r!.rows.map((row) => String(row.name ?? row.NAME)))
    if (names.size === 0)
      throw new AuditedError('internal', `Table ${entity.table} does not exist; create it first.`)
    this.#columns.set(entity.table, names)
    return names
  }

  async runBeforeHooks(change: BeforeChange): Promise<void> {
    for (const hook of this.#hooksBefore) {
      try {
        await hook(change)
      } catch (e) {
        if (isAuditedError(e)) throw e
        throw new AuditedError('rejected', 'The write was rejected by a rule.', { cause: e })
      }
    }
  }
}
