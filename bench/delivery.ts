/**
 * The feed and webhook delivery, measured:
 * - feed visibility: 16 writers create events; a durable consumer in the same process
 *   notes when each event reaches its handler. Latency = handler time − the moment the
 *   writer's COMMIT returned (p50/p99), beside the write's own latency in the same run.
 * - webhook deliveries/s: events written while a CMS webhook runtime delivers them to a
 *   loopback receiver (fan-out, claim, sign, POST, store the attempt), against the same
 *   number of POSTs sent straight to the receiver with undici (the ceiling), same run.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { monotonicFactory } from 'ulid'
import { request } from 'undici'
import { createAuditor, type DialectName, migrate, openDatabase } from '../packages/audited/src/index.js'
import { locales } from '../packages/cms/src/cms/entities.js'
import { CMS_MIGRATIONS } from '../packages/cms/src/cms/schema.js'
import { createWebhook } from '../packages/cms/src/cms/webhook-operations.js'
import { WebhookRuntime } from '../packages/cms/src/webhooks/runtime.js'
import { parseAllowHosts } from '../packages/cms/src/webhooks/ssrf.js'
import { POOL_SIZE } from './config.js'
import type { DialectTarget, PendingDrops } from './databases.js'
import { CTX, createItemsTable, items } from './workload.js'

const newId = monotonicFactory()
let codes = 0

/** Events and deliveries per dialect at a bench scale (1 = the stored run). */
export const deliverySizes = (scale: number) => ({
  feedEvents: Math.max(500, Math.round(10_000 * scale)),
  deliveries: Math.max(500, Math.round(10_000 * scale)),
})
const WRITERS = 16

export interface DeliveryReport {
  readonly name: DialectName
  readonly status: 'ran' | 'skipped' | 'failed'
  readonly reason?: string
  readonly feed?: {
    events: number
    p50: number
    p99: number
    max: number
    writeP50: number
    writeP99: number
  }
  readonly webhooks?: { deliveries: number; perSecond: number; directPerSecond: number }
}

const pct = (sorted: readonly number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!

async function receiver(): Promise<{
  url: string
  count: () => number
  lastAt: () => number
  close(): Promise<void>
}> {
  let n = 0
  let last = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      n += 1
      last = performance.now()
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    count: () => n,
    lastAt: () => last,
    close: () => new Promise((r) => server.close(() => r())),
  }
}

async function feedLatency(url: string, events: number) {
  const db = await openDatabase(url, { pool: { max: POOL_SIZE + 4, acquireTimeoutMs: 30_000 } })
  try {
    await migrate(db)
    await createItemsTable(db)
    const auditor = createAuditor({ db, timeoutMs: 60_000 })
    const committed = new Map<string, number>()
    const handled = new Map<string, number>()
    const sub = auditor.feed.subscribe(
      `bench-${newId()}`,
      (batch) => {
        const now = performance.now()
        for (const e of batch) handled.set(e.recordId, now)
      },
      { from: 'now', batchSize: 1000 },
    )
    await sub.ready
    const writes: number[] = []
    let next = 0
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < events) {
          next += 1
          const id = newId()
          const t0 = performance.now()
          await auditor.create(items, { id, title: `t${id}`, body: null, views: 0 }, CTX)
          const t1 = performance.now()
          committed.set(id, t1)
          writes.push(t1 - t0)
        }
      }),
    )
    const deadline = Date.now() + 60_000
    while (handled.size < committed.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    await sub.stop()
    await auditor.close()
    const lat = [...committed]
      .map(([id, t]) => Math.max(0, (handled.get(id) ?? Number.NaN) - t))
      .sort((a, b) => a - b)
    writes.sort((a, b) => a - b)
    if (lat.some(Number.isNaN)) throw new Error('the consumer missed events')
    return {
      events: lat.length,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      max: lat.at(-1)!,
      writeP50: pct(writes, 50),
      writeP99: pct(writes, 99),
    }
  } finally {
    await db.close()
  }
}

async function webhookRate(url: string, deliveries: number) {
  const rx = await receiver()
  const db = await openDatabase(url, { pool: { max: POOL_SIZE, acquireTimeoutMs: 30_000 } })
  try {
    await migrate(db, CMS_MIGRATIONS)
    const auditor = createAuditor({ db, timeoutMs: 60_000 })
    const tenantId = newId()
    const ctx = { ...CTX, tenantId }
    const policy = parseAllowHosts('127.0.0.1')
    await createWebhook(
      { db, auditor },
      { ctx, tenantId, platformAdmin: false, userId: null },
      { url: rx.url, events: ['locales.*'] },
      policy,
    )
    const runtime = new WebhookRuntime(db, auditor, { policy, schedule: [0, 1000], concurrency: 64 })
    runtime.start()
    await new Promise((r) => setTimeout(r, 300)) // the fan-out consumer stores its start point
    const t0 = performance.now()
    for (let i = 0; i < deliveries; i += 200) {
      const rows = Array.from({ length: Math.min(200, deliveries - i) }, () => {
        const id = newId()
        return {
          id,
          tenant_id: tenantId,
          code: `c${(codes++).toString(36)}`,
          name: 'x',
          created_at: new Date(),
          updated_at: new Date(),
        }
      })
      await auditor.createMany(locales, rows as never, ctx)
    }
    const deadline = Date.now() + 120_000
    while (rx.count() < deliveries && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    const perSecond = (rx.count() / (rx.lastAt() - t0)) * 1000
    await runtime.stop()
    await auditor.close()
    // The ceiling: the same number of POSTs straight to the receiver, 64 at a time.
    const before = rx.count()
    const d0 = performance.now()
    let sent = 0
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (sent < deliveries) {
          sent += 1
          const r = await request(rx.url, {
            method: 'POST',
            body: '{"type":"x"}',
            headers: { 'content-type': 'application/json' },
          })
          await r.body.dump()
        }
      }),
    )
    const directPerSecond = ((rx.count() - before) / (performance.now() - d0)) * 1000
    return { deliveries: before, perSecond, directPerSecond }
  } finally {
    await db.close()
    await rx.close()
  }
}

export async function benchDelivery(
  target: DialectTarget,
  drops: PendingDrops,
  log: (line: string) => void,
  sizes: { feedEvents: number; deliveries: number },
): Promise<DeliveryReport> {
  const { name } = target
  const unreachable = await target.unreachable()
  if (unreachable !== undefined) return { name, status: 'skipped', reason: unreachable }
  let feed: DeliveryReport['feed']
  try {
    const a = await target.create()
    drops.track(a)
    feed = await feedLatency(a.url, sizes.feedEvents)
    await drops.drop(a)
    log(
      `  feed: ${feed.events} events, commit→handler p50 ${feed.p50.toFixed(1)} ms, p99 ${feed.p99.toFixed(1)} ms`,
    )
    const b = await target.create()
    drops.track(b)
    const webhooks = await webhookRate(b.url, sizes.deliveries)
    await drops.drop(b)
    log(
      `  webhooks: ${webhooks.perSecond.toFixed(0)} deliveries/s (direct ${webhooks.directPerSecond.toFixed(0)}/s)`,
    )
    return { name, status: 'ran', feed, webhooks }
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e)
    return { name, status: 'failed', reason, ...(feed === undefined ? {} : { feed }) }
  }
}

const f1 = (n: number) => n.toFixed(1)
const f0 = (n: number) => Math.round(n).toLocaleString('en-US')

/** The results file's body. */
export function deliveryMarkdown(reports: readonly DeliveryReport[], when: Date, load: string): string {
  const lines = [
    '# audited — feed and webhook delivery benchmark',
    '',
    `Run ${when.toISOString()} with \`npm run bench\` (only these cells: \`BENCH_CASES=delivery npm run bench\`); load ${load}.`,
    '',
    `## Feed visibility: commit → durable consumer's handler (${WRITERS} writers, same process)`,
    '',
    '| database | events | p50 ms | p99 ms | max ms | write p50 ms | write p99 ms | p99 ÷ write p99 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const r of reports) {
    if (r.feed === undefined) lines.push(`| ${r.name} | ${r.status}: ${r.reason ?? ''} | | | | | | |`)
    else {
      const x = r.feed
      lines.push(
        `| ${r.name} | ${f0(x.events)} | ${f1(x.p50)} | ${f1(x.p99)} | ${f1(x.max)} | ${f1(x.writeP50)} | ${f1(x.writeP99)} | ${(x.p99 / x.writeP99).toFixed(2)} |`,
      )
    }
  }
  lines.push(
    '',
    '## Webhook deliveries to a loopback receiver (written, fanned out, claimed, signed, sent, stored)',
    '',
    '| database | deliveries | audited deliveries/s | direct POSTs/s (same run) | audited ÷ direct |',
    '|---|---:|---:|---:|---:|',
  )
  for (const r of reports) {
    if (r.webhooks === undefined) lines.push(`| ${r.name} | ${r.status}: ${r.reason ?? ''} | | | |`)
    else {
      const w = r.webhooks
      lines.push(
        `| ${r.name} | ${f0(w.deliveries)} | ${f0(w.perSecond)} | ${f0(w.directPerSecond)} | ${(w.perSecond / w.directPerSecond).toFixed(2)} |`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}
