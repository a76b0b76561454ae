import type Database from 'better-sqlite3'

/** Linger only while at least this share of recent lingers found a member to join… */
const MIN_JOIN_RATE = 0.25
/** …except once in this many commits, to notice when load comes back. */
const PROBE_EVERY = 16

/**
 * When SQLite's commit group may form and linger (see `CommitGroup`): never while the
 * schema declares what would make one member's error fail the others, and lingering for
 * members only while it has lately paid off.
 */
export class GroupPolicy {
  readonly #raw: Database.Database
  readonly #schemaVersionStmt: Database.Statement
  #schemaVersion = -1
  #groupable = false
  /** How often lingering found a member (moving average), and a counter for probes. */
  #joinRate = 0.5
  #probe = 0

  constructor(raw: Database.Database) {
    this.#raw = raw
    this.#schemaVersionStmt = raw.prepare('PRAGMA schema_version').pluck()
  }

  /** False while a deferred foreign key (checked only at the outer COMMIT, where one
   * member's violation would fail the others), a trigger's RAISE(ROLLBACK) or a table's
   * ON CONFLICT ROLLBACK (ending the whole outer transaction) is declared. */
  groupingAllowed(): boolean {
    try {
      const version = this.#schemaVersionStmt.get() as number
      if (version !== this.#schemaVersion) {
        const row = this.#raw
          .prepare(
            "SELECT count(*) AS n FROM sqlite_master WHERE sql LIKE '%DEFERRABLE%' OR sql LIKE '%ROLLBACK%'",
          )
          .get() as { n: number }
        this.#groupable = row.n === 0
        this.#schemaVersion = version
      }
      return this.#groupable
    } catch {
      return false // the schema cannot be read (a closed database): commit now
    }
  }

  /** Whether to linger for a member now (nothing is queued). */
  shouldLinger(): boolean {
    this.#probe = (this.#probe + 1) % PROBE_EVERY
    return this.#joinRate >= MIN_JOIN_RATE || this.#probe === 0
  }

  /** A linger ended; `joined`: a member joined it. */
  lingerEnded(joined: boolean): void {
    this.#joinRate = this.#joinRate * 0.875 + (joined ? 0.125 : 0)
  }
}
