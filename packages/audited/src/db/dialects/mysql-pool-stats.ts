import type mysql from 'mysql2'
import type { PoolStats } from '../dialect.js'

/**
 * Pool figures for a mysql2 pool, counted from its public surface (mysql2 exposes no
 * counters): connections join on the pool's `connection` event and leave when they end,
 * fail or are destroyed; `acquire` / `release` events mark them busy or idle (a connection
 * handed straight to a waiter stays busy, and mysql2 emits nothing then); `waiting` is the
 * `getConnection` calls not yet answered — ours and Kysely's, which share the pool.
 */
export class MysqlPoolStats {
  private readonly live = new Set<mysql.PoolConnection>()
  private readonly busy = new Set<mysql.PoolConnection>()
  private pending = 0

  constructor(pool: mysql.Pool) {
    pool.on('connection', (conn) => {
      this.live.add(conn)
      const gone = () => this.removed(conn)
      conn.once('end', gone)
      conn.once('error', gone)
    })
    pool.on('acquire', (conn) => {
      this.busy.add(conn)
    })
    pool.on('release', (conn) => {
      this.busy.delete(conn)
    })
    const getConnection = pool.getConnection.bind(pool)
    pool.getConnection = (callback) => {
      this.pending += 1
      getConnection((err, conn) => {
        this.pending -= 1
        callback(err, conn)
      })
    }
  }

  /** A connection destroyed by its user, or closed by the server. */
  removed(conn: mysql.PoolConnection): void {
    this.live.delete(conn)
    this.busy.delete(conn)
  }

  stats(): PoolStats {
    return { total: this.live.size, idle: this.live.size - this.busy.size, waiting: this.pending }
  }
}
