import type { Statement, StatementResult } from '../db/dialect.js'
import type { EngineCore } from './engine-core.js'
import type { Entity } from './entity.js'
import { bind } from './statements.js'
import type { RecordId } from './write-rules.js'

/**
 * The HLC of one write scope's events: each event orders after the newest event of every
 * record the scope touched (read under the record's lock) and after the process clock.
 */
export class ScopeClock {
  readonly #core: EngineCore
  /** The HLC this scope's next event must exceed although the clock could not be moved
   * there (a record's newest event from a clock far ahead); 0 when none. */
  #floor = 0n

  constructor(core: EngineCore) {
    this.#core = core
  }

  /** The statement reading the records' newest event HLC (send it after their row locks). */
  lastHlc(entity: Entity<object>, ids: readonly RecordId[]): Statement {
    const args: Record<string, unknown> = { table: entity.table }
    for (const [i, id] of ids.entries()) args[`k${i}`] = String(id)
    return bind(this.#core.eventStatements.lastHlc(ids.length), args)
  }

  /** Orders the next events after the HLC read by `lastHlc`. A value the clock refuses (too
   * far ahead, see `HlcClock.observe`) becomes this scope's floor instead: its events still
   * order after it, the process clock stays where it is. */
  observe(result: StatementResult): void {
    const hlc = result.rows[0]?.hlc
    if (hlc === null || hlc === undefined) return
    const seen = BigInt(String(hlc))
    if (!this.#core.clock.observe(seen) && seen > this.#floor) this.#floor = seen
  }

  /** The next event's HLC: the clock's, or just above the floor when that is higher. */
  next(): bigint {
    const h = this.#core.clock.now()
    if (h > this.#floor) return h
    this.#floor += 1n
    return this.#floor
  }
}
