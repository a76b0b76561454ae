/**
 * The sealer's leaf worker (a worker thread): reads the feed on its own connection and
 * hashes each event's canonical bytes, so that decoding and hashing — most of the sealer's
 * CPU — run beside the writers' event loop instead of on it. It answers one request at a
 * time: `{ id, position, eventId, limit }` → `{ id, batch }` or `{ id, error }`;
 * `{ close: true }` closes its connection and ends it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { type AuditedDatabase, openDatabase } from '../db/open-database.js'
import { FeedReader } from '../feed/feed-reader.js'
import { packLeafBatch, sealItems } from './leaf-batch.js'

interface Request {
  readonly id: number
  readonly position: string
  readonly eventId: string
  readonly limit: number
}

const port = parentPort
if (port === null) throw new Error('leaf-worker.ts runs as a worker thread')
const { url, options } = workerData as { url: string; options: object }
let opened: Promise<{ db: AuditedDatabase; reader: FeedReader }> | undefined

function connection() {
  opened ??= openDatabase(url, options).then((db) => ({
    db,
    reader: new FeedReader({ readKysely: db.readKysely, dialect: db.capabilities }),
  }))
  // A failed open is tried again at the next request.
  opened.catch(() => {
    opened = undefined
  })
  return opened
}

let queue: Promise<void> = Promise.resolve()

port.on('message', (m: Request | { close: true }) => {
  queue = queue.then(async () => {
    if ('close' in m) {
      const o = opened
      opened = undefined
      await (await o?.catch(() => undefined))?.db.close()
      port.close()
      return
    }
    try {
      const { reader } = await connection()
      const rows = await reader.readAfter({ position: BigInt(m.position), eventId: m.eventId }, m.limit)
      const batch = packLeafBatch(sealItems(rows))
      port.postMessage({ id: m.id, batch }, [batch.hashes.buffer as ArrayBuffer])
    } catch (e) {
      port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) })
    }
  })
})
