/**
 * The leaf worker (a worker thread): reads the feed on its own connection and hashes each
 * event's leaf, so that decoding and hashing run beside the caller's event loop instead of
 * on it. It answers one request at a time (leaf-worker-client.ts sends them):
 * - `seal` (the sealer): `{ id, kind, position, eventId, limit }` → `{ id, result }`, a
 *   `LeafBatchMessage` of the events after that point;
 * - `verify` (`verifyLogs`): the same and `upTo`, `tenantId` → a `LeafPageMessage`, the
 *   page as `VerifyReader.page` reads it;
 * or `{ id, error }`. `{ close: true }` closes its connection and ends it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { type AuditedDatabase, openDatabase } from '../db/open-database.js'
import type { FeedPoint } from '../feed/feed-cursor.js'
import { FeedReader } from '../feed/feed-reader.js'
import { packLeafBatch, sealItems } from './leaf-batch.js'
import type { LeafRequest } from './leaf-worker-client.js'
import { packLeafPage } from './verify-pages.js'
import { VerifyReader } from './verify-reader.js'

const port = parentPort
if (port === null) throw new Error('leaf-worker.ts runs as a worker thread')
const { url, options } = workerData as { url: string; options: object }
let opened: Promise<{ db: AuditedDatabase; reader: FeedReader }> | undefined
const verifiers = new Map<string | null | undefined, VerifyReader>()

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

const pointOf = (p: { position: string; eventId: string }): FeedPoint => ({
  position: BigInt(p.position),
  eventId: p.eventId,
})

let queue: Promise<void> = Promise.resolve()

port.on('message', (m: ({ id: number } & LeafRequest) | { close: true }) => {
  queue = queue.then(async () => {
    if ('close' in m) {
      const o = opened
      opened = undefined
      await (await o?.catch(() => undefined))?.db.close()
      port.close()
      return
    }
    try {
      const { db, reader } = await connection()
      if (m.kind === 'seal') {
        const batch = packLeafBatch(sealItems(await reader.readAfter(pointOf(m), m.limit)))
        port.postMessage({ id: m.id, result: batch }, [batch.hashes.buffer as ArrayBuffer])
        return
      }
      let verify = verifiers.get(m.tenantId)
      if (verify === undefined) {
        verify = new VerifyReader(db, m.tenantId)
        verifiers.set(m.tenantId, verify)
      }
      const page = await verify.page(pointOf(m), m.limit, m.upTo === undefined ? undefined : pointOf(m.upTo))
      port.postMessage({ id: m.id, result: packLeafPage(page) })
    } catch (e) {
      port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) })
    }
  })
})
