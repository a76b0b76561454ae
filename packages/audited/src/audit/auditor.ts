import { type AuditContext, assertAuditContext } from '../core/audit-context.js'
import { AuditedError } from '../core/errors.js'
import type { HlcClock } from '../core/hlc.js'
import { runTransaction } from '../db/transaction.js'
import { Feed, type PreparedTaps } from '../feed/feed.js'
import { PersonalData } from '../privacy/personal-data.js'
import { publicEvent } from './change-event.js'
import { type AuditorOptions, EngineCore } from './engine-core.js'
import type { Entity } from './entity.js'
import { EventQueries } from './event-queries.js'
import {
  type AuditedWriter,
  type CreateOptions,
  type RecordId,
  type WriteOptions,
  WriteScope,
} from './write-scope.js'

/** The audited engine: every write and its change event commit together, or neither. */
export interface Auditor {
  create<R extends object>(
    entity: Entity<R>,
    values: Partial<R>,
    ctx: AuditContext,
    options?: CreateOptions,
  ): Promise<R>
  update<R extends object>(
    entity: Entity<R>,
    id: RecordId,
    patch: Partial<R>,
    ctx: AuditContext,
    options?: WriteOptions,
  ): Promise<R>
  delete<R extends object>(
    entity: Entity<R>,
    id: RecordId,
    ctx: AuditContext,
    options?: WriteOptions,
  ): Promise<R>
  restore<R extends object>(entity: Entity<R>, id: RecordId, eventId: string, ctx: AuditContext): Promise<R>
  createMany<R extends object>(
    entity: Entity<R>,
    rows: readonly Partial<R>[],
    ctx: AuditContext,
  ): Promise<R[]>
  /**
   * Several writes, one transaction: all rows and all their events (sharing one `txId`)
   * commit together. Use `tx` for every write inside; `fn` may run twice if the database
   * reports a deadlock.
   */
  transaction<T>(ctx: AuditContext, fn: (tx: AuditedWriter) => Promise<T>): Promise<T>
  readonly events: EventQueries
  /** The commit-ordered change feed: the never-skip reader and durable consumers. */
  readonly feed: Feed
  /** Personal data: erasure and access requests (needs `personalData`). */
  readonly privacy: PersonalData
  readonly nodeId: string
  readonly clock: HlcClock
  /** Stops this auditor's feed consumers (after their batch in hand); the database stays open. */
  close(): Promise<void>
}

/** The `after` hooks, as one durable consumer: each event, each hook, in order; a hook
 * that throws is reported and makes the batch retry (at least once, never lost). */
function runAfterHooks(core: EngineCore, feed: Feed, name: string): Promise<void> {
  const subscription = feed.subscribe(
    name,
    async (events) => {
      for (const event of events) {
        const { cursor: _c, position: _p, ...plain } = event
        for (const hook of core.hooksAfter) {
          try {
            await hook(plain)
          } catch (e) {
            try {
              core.onHookError(e, plain)
            } catch {
              // a failing error reporter changes nothing
            }
            throw e
          }
        }
      }
    },
    { from: 'now', onError: () => {} },
  )
  return subscription.ready
}

/**
 * Creates the engine over an open database.
 *
 * @example
 * const db = await openDatabase('sqlite:./app.db'); await migrate(db)
 * const auditor = createAuditor({ db })
 * const post = await auditor.create(posts, { id: 'p1', title: 'Hello' }, ctx)
 */
export function createAuditor(options: AuditorOptions): Auditor {
  const core = new EngineCore(options)
  const feed = new Feed(core)
  const onCommitted = options.hooks?.committed
  // A new `after` consumer starts at the newest event: writes wait until that point is
  // stored, so none of this auditor's events falls before it.
  let hooksReady: Promise<void> | undefined =
    core.hooksAfter.length > 0
      ? runAfterHooks(core, feed, options.hooks?.afterConsumer ?? 'audited.after-hooks').then(() => {
          hooksReady = undefined
        })
      : undefined

  async function inTransaction<T>(given: AuditContext, fn: (scope: WriteScope) => Promise<T>): Promise<T> {
    assertAuditContext(given)
    // What was checked is what the events record: a caller or hook changing the object
    // later (text no database stores alike, another tenant mid-transaction) changes nothing.
    const ctx: AuditContext = Object.freeze({ ...given })
    if (hooksReady !== undefined) await hooksReady
    if (core.ready !== undefined) await core.ready
    let committed: WriteScope | undefined
    let tapped: PreparedTaps | undefined
    const logical = {} // one per call, shared by a deadlock re-run (BeforeChange.transaction)
    const result = await runTransaction(
      core.dialect,
      {
        timeoutMs: core.timeoutMs,
        acquireTimeoutMs: core.db.acquireTimeoutMs,
        signal: ctx.signal,
        afterBegin: core.afterBegin,
      },
      async (tx) => {
        const scope = new WriteScope(core, tx, ctx, logical)
        const value = await fn(scope)
        // A write that failed after sending statements may have left rows without their
        // events (or, on MySQL, a transaction the server already rolled back): such a
        // transaction never commits, even if the caller caught the error.
        if (scope.failure !== undefined) throw scope.failure
        const statements = [...scope.recorder.inserts(), ...scope.recorder.deferred]
        // In the same tick as the INSERTs' values: the taps see exactly what is stored.
        const taps = feed.prepareTaps(scope.recorder.events)
        await tx.commit(statements)
        committed = scope
        tapped = taps
        return value
      },
    )
    if (committed !== undefined && committed.recorder.newKeys.size > 0)
      core.subjectKeys?.adopt(committed.recorder.newKeys)
    if (committed !== undefined && committed.recorder.events.length > 0) {
      feed.notify(tapped)
      if (onCommitted !== undefined) {
        try {
          onCommitted(committed.recorder.events.map(publicEvent))
        } catch {
          // a local listener must not fail a committed write
        }
      }
    }
    return result
  }

  const auditor: Auditor = {
    create: (entity, values, ctx, opts) => inTransaction(ctx, (s) => s.create(entity, values, opts)),
    update: (entity, id, patch, ctx, opts) => inTransaction(ctx, (s) => s.update(entity, id, patch, opts)),
    delete: (entity, id, ctx, opts) => inTransaction(ctx, (s) => s.delete(entity, id, opts)),
    restore: (entity, id, eventId, ctx) => inTransaction(ctx, (s) => s.restore(entity, id, eventId)),
    createMany: (entity, rows, ctx) => inTransaction(ctx, (s) => s.createMany(entity, rows)),
    transaction(ctx, fn) {
      if (typeof fn !== 'function') throw new AuditedError('validation', 'transaction takes a function.')
      return inTransaction(ctx, (scope) => fn(scope))
    },
    events: new EventQueries(core),
    feed,
    privacy: new PersonalData(core, feed, (ctx, fn) => inTransaction(ctx, (scope) => fn(scope))),
    nodeId: core.nodeId,
    clock: core.clock,
    close: () => feed.close(),
  }
  return auditor
}
