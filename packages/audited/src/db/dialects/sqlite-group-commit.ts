import { isDeepStrictEqual } from 'node:util'
import type Database from 'better-sqlite3'
import { AuditedError } from '../../core/errors.js'
import { abortedError, acquireWithTimeout, type WaitOptions } from '../acquire.js'
import type { Lease, Statement, StatementResult } from '../dialect.js'
import type { WriterLock } from '../writer-lock.js'
import { GroupPolicy } from './sqlite-group-policy.js'
import type { StatementCache } from './sqlite-kysely-dialect.js'

/** Most transactions one COMMIT carries. */
const MAX_MEMBERS = 32
/** A group stops taking members this long after it opened (ms): bounds the wait of its first. */
const MAX_GROUP_MS = 10

const SAVEPOINT = 'audited_member'
const NO_RESULT: StatementResult = { rows: [], affected: 0 }

interface Waiting {
  resolve(): void
  reject(error: unknown): void
}

/** One engine transaction's hold on the connection. */
interface Member {
  /** It has the connection (not yet handed it on or released it). */
  holding: boolean
  inSavepoint: boolean
  /** What it ran in its savepoint while earlier members wait for it (it may be preempted). */
  log: { statement: Statement; result: StatementResult }[] | undefined
  /** Preempted: its statements are to run again in a new transaction before its next ones. */
  replay: boolean
}

/** The member's transaction is gone (SQLite rolled it back, or it never began). */
const lostError = (cause?: unknown) =>
  new AuditedError('unavailable', 'The database rolled the transaction back.', {
    details: { reason: 'rolled_back' },
    cause,
    retryAfterSeconds: 1,
  })

/**
 * Group commit for SQLite's one writer connection.
 *
 * SQLite serialises writers, and most of a small write transaction's cost is its COMMIT
 * (writing every touched page of the row, the event and their indexes to the WAL). When
 * engine transactions queue for the connection, each one runs inside a savepoint of one
 * outer transaction; a finished member releases its savepoint, hands the connection to the
 * next queued transaction and waits; the member that finds no transaction queued behind it
 * (or the group full or 10 ms old) commits the outer transaction for all of them. Every
 * caller still learns "committed" only after the COMMIT that made its write durable, and a
 * failed member rolls back to its savepoint without touching the others. If the COMMIT
 * fails, or SQLite rolls back the whole transaction on its own (SQLITE_FULL, I/O errors),
 * every member of the group gets the error: none of them committed.
 *
 * A deferred foreign key is checked only at the outer COMMIT, where one member's violation
 * would fail the others, and a trigger's RAISE(ROLLBACK) or a table's ON CONFLICT ROLLBACK
 * ends the whole outer transaction: while the schema declares any of them, groups are not
 * formed (each transaction commits alone).
 *
 * A member may hold the connection as long as its caller's code runs, and that code may
 * wait for an earlier member's answer: a member still holding the connection when the
 * group is due (10 ms) is preempted — rolled back to its savepoint so that the others
 * commit — and its statements run again, with the same results or it fails, before its
 * next ones.
 */
export class CommitGroup {
  readonly #raw: Database.Database
  readonly #statements: StatementCache
  readonly #lock: WriterLock
  /** The outer transaction is open. */
  #open = false
  #openedAt = 0
  readonly #waiting: Waiting[] = []
  /** Non-zero while the group holds the lock with no member, waiting for one to join. */
  #lingering = 0
  #lingerSeq = 0
  /** The newest linger a member joined. */
  #joinedLinger = 0
  readonly #policy: GroupPolicy
  /** The member that has the connection, or had it last. */
  #holder: Member | undefined
  /** Counts outer transactions; a preemption timer is for one of them. */
  #groupSeq = 0
  #preemptTimer: NodeJS.Timeout | undefined
  /** Transactions committed, and COMMITs issued for them (for tests and metrics). */
  readonly stats = { transactions: 0, commits: 0 }

  readonly #enabled: boolean

  /** `enabled` false: every transaction commits alone (the lease logic stays the same). */
  constructor(raw: Database.Database, statements: StatementCache, lock: WriterLock, enabled = true) {
    this.#raw = raw
    this.#statements = statements
    this.#lock = lock
    this.#enabled = enabled
    this.#policy = new GroupPolicy(raw)
  }

  /**
   * A connection for one engine transaction. While a group lingers for more members, a
   * transaction joins it at once; otherwise it queues for the writer lock.
   */
  acquire(timeoutMs: number, options: WaitOptions = {}): Promise<Lease> {
    if (options.signal?.aborted) return Promise.reject(abortedError(options.signal))
    if (this.#lingering !== 0) {
      this.#joinedLinger = this.#lingering // that linger paid off
      this.#lingering = 0 // the lock passes from the lingering group to this member
      return Promise.resolve(this.#lease())
    }
    if (this.#lock.tryTake()) return Promise.resolve(this.#lease())
    return acquireWithTimeout(
      (stop) => this.#lock.take('transaction', stop, this).then(() => this.#lease()),
      timeoutMs,
      options,
    )
  }

  /** A lease for one engine transaction (the lock is already this caller's). */
  #lease(): Lease {
    const member: Member = { holding: true, inSavepoint: false, log: undefined, replay: false }
    this.#holder = member
    let handedOver = false
    const session = {
      run: async (list: readonly Statement[]): Promise<StatementResult[]> => {
        if (list.length === 1 && list[0]!.sql === 'ROLLBACK') {
          member.replay = false
          member.log = undefined
          if (member.inSavepoint) {
            member.inSavepoint = false
            this.#exec(`ROLLBACK TO ${SAVEPOINT}`)
            this.#exec(`RELEASE ${SAVEPOINT}`)
          }
          return [NO_RESULT]
        }
        let body = list
        const begins = body[0]?.sql === 'BEGIN IMMEDIATE'
        const commits = body.at(-1)?.sql === 'COMMIT'
        if (begins) body = body.slice(1)
        if (commits) body = body.slice(0, -1)
        try {
          if (begins) {
            const joins = this.#open
            this.#begin()
            // Earlier members wait for this one: it keeps what it runs, to run it again
            // should it stall and the group commit without it (see #preempt).
            member.log = joins ? [] : undefined
            member.inSavepoint = true
          } else if (member.replay) {
            this.#replay(member)
          } else if (!member.inSavepoint || !this.#open) {
            // Its BEGIN failed, or SQLite rolled its transaction back: whatever runs now
            // would commit on its own, outside any transaction.
            throw lostError()
          }
          const results = this.#run(body, member.log)
          if (begins) results.unshift(NO_RESULT)
          if (!commits) return results
          this.#exec(`RELEASE ${SAVEPOINT}`)
          member.inSavepoint = false
          member.log = undefined
          this.stats.transactions += 1
          const next = this.#next(1)
          if (next === 'commit') {
            this.#commit()
          } else {
            handedOver = true
            member.holding = false
            const committed = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }))
            if (this.#waiting.length === 1) this.#armPreempt()
            this.#handOver(next)
            await committed
          }
          results.push(NO_RESULT)
          return results
        } catch (e) {
          this.#afterError(e)
          throw e
        }
      },
    }
    return {
      session,
      release: () => {
        if (handedOver) return
        handedOver = true
        member.holding = false
        this.#finish()
      },
    }
  }

  #exec(sql: string): void {
    this.#statements.prepare(sql).run()
  }

  /** Runs statements, keeping each with its result in `log` when given. */
  #run(
    list: readonly Statement[],
    log?: { statement: Statement; result: StatementResult }[],
  ): StatementResult[] {
    const results: StatementResult[] = []
    for (const statement of list) {
      const stmt = this.#statements.prepare(statement.sql)
      let result: StatementResult
      if (stmt.reader) {
        const rows = stmt.all(statement.parameters as unknown[]) as Record<string, unknown>[]
        result = { rows, affected: rows.length }
      } else {
        const info = stmt.run(statement.parameters as unknown[])
        result = { rows: [], affected: Number(info.changes) }
      }
      results.push(result)
      // A copy: the caller may change the rows it gets (a hook's `read` hands them on).
      log?.push({
        statement,
        result: { rows: result.rows.map((row) => ({ ...row })), affected: result.affected },
      })
    }
    return results
  }

  /** Opens the outer transaction if needed, then the member's savepoint. */
  #begin(): void {
    if (!this.#open) {
      this.#exec('BEGIN IMMEDIATE')
      this.#open = true
      this.#openedAt = performance.now()
      this.#groupSeq += 1
    }
    this.#exec(`SAVEPOINT ${SAVEPOINT}`)
  }

  /**
   * Members wait for the member that has the connection, and it may wait for anything —
   * even for one of them to be answered. Should it still hold the connection when the
   * group is due, it is preempted: its savepoint is rolled back and the others commit.
   */
  #armPreempt(): void {
    const seq = this.#groupSeq
    clearTimeout(this.#preemptTimer)
    this.#preemptTimer = setTimeout(() => this.#preempt(seq), MAX_GROUP_MS)
  }

  #preempt(seq: number): void {
    this.#preemptTimer = undefined
    const member = this.#holder
    if (!this.#open || seq !== this.#groupSeq || this.#waiting.length === 0 || this.#lingering !== 0) return
    if (member === undefined || !member.holding) return
    if (member.inSavepoint && member.log === undefined) return // cannot run it again
    try {
      if (member.inSavepoint) {
        member.inSavepoint = false
        this.#exec(`ROLLBACK TO ${SAVEPOINT}`)
        this.#exec(`RELEASE ${SAVEPOINT}`)
        member.replay = true // its statements run again before its next ones
      }
    } catch (e) {
      member.replay = false // lost with the whole transaction: its next statement fails
      member.log = undefined
      this.#rollbackQuietly()
      this.#open = false
      for (const m of this.#waiting.splice(0)) m.reject(e)
      return
    }
    try {
      this.#commit()
    } catch {
      // the members got the error; the preempted one starts again on its own
    }
  }

  /**
   * The preempted member goes on in a new outer transaction: what it ran is run again and
   * must give the same results (another process may have written in between); otherwise
   * it fails, retryable, and rolls back.
   */
  #replay(member: Member): void {
    const log = member.log ?? []
    member.replay = false
    member.log = undefined // it opens the new group: nobody waits for it
    this.#begin()
    member.inSavepoint = true
    for (const { statement, result } of log) {
      const [again] = this.#run([statement])
      if (!isDeepStrictEqual(again, result)) {
        throw new AuditedError('conflict', 'The data changed while the transaction waited; retry.', {
          details: { reason: 'serialization' },
          retryAfterSeconds: 1,
        })
      }
    }
  }

  /**
   * What the group does when a member is done (`adding` = 1 when that member joins the
   * waiting list): hand the connection to a transaction queued for it; linger for one turn
   * of the event loop when nothing is queued but lingering has lately paid off (under
   * load the next requests reach their transactions in that turn); else commit.
   */
  #next(adding: number): 'handover' | 'linger' | 'commit' {
    const members = this.#waiting.length + adding
    if (members === 0) return 'commit'
    if (members >= MAX_MEMBERS || performance.now() - this.#openedAt >= MAX_GROUP_MS) return 'commit'
    if (!this.#enabled || !this.#policy.groupingAllowed()) return 'commit'
    const queued = this.#lock.nextFor(this)
    if (queued === 'transaction') return 'handover'
    if (queued !== undefined) return 'commit' // a Kysely query waits: it must not see this transaction
    return this.#policy.shouldLinger() ? 'linger' : 'commit'
  }

  /** Passes the connection to the next transaction, now or within one event-loop turn. */
  #handOver(how: 'handover' | 'linger'): void {
    if (how === 'handover') {
      this.#lock.release()
      return
    }
    const id = ++this.#lingerSeq
    this.#lingering = id
    setImmediate(() => {
      // Judged per linger: in a chain (A lingers, B joins and lingers, C joins…) every
      // linger but the last found a member, whatever happened after it.
      this.#policy.lingerEnded(this.#joinedLinger >= id)
      if (this.#lingering !== id) return // a member joined: it decides when to commit
      this.#lingering = 0
      try {
        this.#commit()
      } catch {
        // the members got the error
      }
      this.#lock.release()
    })
  }

  /** COMMITs the outer transaction: its members learn the outcome. */
  #commit(): void {
    const members = this.#waiting.splice(0)
    clearTimeout(this.#preemptTimer)
    try {
      this.#exec('COMMIT')
    } catch (e) {
      this.#rollbackQuietly()
      for (const m of members) m.reject(e)
      throw e
    } finally {
      this.#open = false
      this.stats.commits += 1
    }
    for (const m of members) m.resolve()
  }

  /** A statement failed: if SQLite dropped the whole transaction, the group is lost. */
  #afterError(error: unknown): void {
    if (!this.#open || this.#raw.inTransaction) return
    this.#open = false
    const lost = lostError(error)
    for (const m of this.#waiting.splice(0)) m.reject(lost)
  }

  /**
   * The lease's holder is done without joining the group (it rolled back, or never began):
   * the group goes on with the next queued transaction, or commits now.
   */
  #finish(): void {
    if (this.#open) {
      const next = this.#next(0)
      if (next !== 'commit') {
        this.#handOver(next)
        return
      }
      try {
        this.#commit()
      } catch {
        // the members got the error
      }
    }
    this.#lock.release()
  }

  #rollbackQuietly(): void {
    try {
      if (this.#raw.inTransaction) this.#exec('ROLLBACK')
    } catch {
      // nothing more to undo
    }
  }
}
