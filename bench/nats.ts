/**
 * The "NATS publishes/s" cell of `npm run bench`: N change events are written first
 * (createMany, outside timing) into a fresh database; then the server's NATS publisher
 * (`startNatsPublisher`, batches of 1000 published concurrently, the offset stored after
 * every PubAck of a batch) starts on a fresh stream. Timed from the consumer's start to the
 * last PubAck (and, apart, to the last offset stored).
 *
 * It runs with BENCH_CASES=all (a loud skip when NATS does not answer) and alone with
 * BENCH_CASES=nats (its section of bench/results.md is replaced, the rest kept).
 * NATS_URL  the server (default nats://127.0.0.1:4222, JetStream on)
 */
import { randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { type AuditedDatabase, createAuditor, type DialectName } from '../packages/audited/src/index.js'
import { messageBody, startNatsPublisher } from '../packages/cms/src/delivery/nats-publisher.js'
import { subjectOf } from '../packages/cms/src/delivery/nats-subjects.js'
import { renderTable } from './report.js'
import { engineCreateMany } from './workload.js'

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

/** Events written before the publisher starts, at BENCH_SCALE=1. */
export const NATS_EVENTS = 20_000

export interface NatsResult {
  readonly dialect: DialectName
  readonly events: number
  /** Consumer start → last PubAck (ms). */
  readonly ackedMs: number
  /** Consumer start → last offset stored (ms). */
  readonly storedMs: number
  readonly streamMessages: number
  /** The baseline: the same messages published straight from memory by the same client, in
   * the same batches of 1000 (no database, no offsets), to another fresh stream (ms). */
  readonly rawMs: number
}

/** Why NATS cannot be used, or undefined when it can. */
export async function natsUnreachable(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 5000, maxReconnectAttempts: 0 })
    try {
      await (await jetstreamManager(nc)).getAccountInfo()
    } finally {
      await nc.close()
    }
    return undefined
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
}

/** Measures one dialect on `db` (fresh, migrated, with the items table). */
export async function natsCell(
  dialect: DialectName,
  db: AuditedDatabase,
  events: number,
  log: (line: string) => void,
): Promise<NatsResult> {
  const writer = createAuditor({ db, timeoutMs: 60_000 })
  for (let done = 0; done < events; done += 100) {
    const ids = Array.from({ length: Math.min(100, events - done) }, (_, i) =>
      `n${done + i}`.padStart(26, '0'),
    )
    await engineCreateMany(writer, ids)
  }
  log(`${dialect}: ${events} events written; publishing to NATS`)
  const tag = `${process.pid}_${randomBytes(4).toString('hex')}`
  const stream = `AUDITED_BENCH_${tag}`
  const auditor = createAuditor({ db, timeoutMs: 60_000 })
  let acked = 0
  let ackedAt = 0
  let lastAck: () => void = () => {}
  const allAcked = new Promise<void>((resolve) => {
    lastAck = resolve
  })
  const started = performance.now()
  const publisher = await startNatsPublisher(auditor, {
    url: NATS_URL,
    subjectPrefix: `audited_bench_${tag}`,
    stream,
    consumer: 'bench.nats',
    counts: {
      published(n) {
        acked += n
        if (acked >= events) {
          ackedAt = performance.now()
          lastAck()
        }
      },
      failed() {},
    },
  })
  try {
    await allAcked
    while (publisher.subscription.status().handled < events) await new Promise((r) => setTimeout(r, 2))
    const storedAt = performance.now()
    const nc = await connect({ servers: NATS_URL })
    const jsm = await jetstreamManager(nc)
    const streamMessages = (await jsm.streams.info(stream)).state.messages
    await jsm.streams.delete(stream)
    // The baseline, same run: the same messages (read back outside timing), raw.
    const messages: { subject: string; body: string; id: string }[] = []
    let after: string | undefined
    for (;;) {
      const page = await auditor.feed.read({ limit: 1000, ...(after === undefined ? {} : { after }) })
      for (const e of page.events)
        messages.push({ subject: subjectOf(`audited_raw_${tag}`, e), body: messageBody(e), id: e.eventId })
      if (page.events.length === 0 || messages.length >= events) break
      after = page.cursor
    }
    const rawStream = `AUDITED_BENCH_RAW_${tag}`
    await jsm.streams.add({ name: rawStream, subjects: [`audited_raw_${tag}.>`] })
    const js = jetstream(nc)
    const rawStarted = performance.now()
    for (let i = 0; i < messages.length; i += 1000)
      await Promise.all(
        messages
          .slice(i, i + 1000)
          .map((m) => js.publish(m.subject, m.body, { msgID: m.id, expect: { streamName: rawStream } })),
      )
    const rawMs = performance.now() - rawStarted
    await jsm.streams.delete(rawStream)
    await nc.close()
    return {
      dialect,
      events,
      ackedMs: ackedAt - started,
      storedMs: storedAt - started,
      streamMessages,
      rawMs,
    }
  } finally {
    await publisher.close()
    await auditor.close()
    await writer.close()
  }
}

/** The results.md section (and the console table). */
export function natsSection(
  results: readonly NatsResult[],
  skipped: readonly string[],
  loadAtStart: number,
): string {
  const rows = results.map((r) => [
    r.dialect,
    String(r.events),
    (r.ackedMs / 1000).toFixed(2),
    Math.round(r.events / (r.ackedMs / 1000)).toLocaleString('en-US'),
    (r.storedMs / 1000).toFixed(2),
    Math.round(r.events / (r.rawMs / 1000)).toLocaleString('en-US'),
    (r.rawMs / r.ackedMs).toFixed(2),
    r.streamMessages === r.events
      ? `${r.streamMessages} (each once)`
      : `${r.streamMessages} (expected ${r.events})`,
  ])
  const table = renderTable(
    [
      'dialect',
      'events',
      's to last PubAck',
      'NATS publishes/s',
      's to last offset',
      'raw publishes/s',
      'publisher ÷ raw',
      'stream messages',
    ],
    rows,
    [1, 2, 3, 4, 5, 6],
  )
  return `${NATS_START}
## NATS publishes/s

The server's NATS JetStream publisher (\`NATS_URL\`, packages/cms/src/delivery/nats-publisher.ts)
over events written beforehand (createMany, outside timing) into a fresh database: a durable
consumer from the start of the feed, batches of 1000 published concurrently on one connection,
the offset stored once every PubAck of the batch arrived; file-storage stream on the NATS server
at ${new URL(NATS_URL).host} (same machine). Timed from the consumer's start to the last PubAck.
Baseline, same run: the same messages published straight from memory by the same client in
the same batches of 1000 (no database reads, no offsets) to another fresh stream; \`publisher ÷
raw\` is the publisher's rate over that.
Measured ${new Date().toISOString()}; 1-minute load average ${loadAtStart.toFixed(2)} at start,
${(loadavg()[0] ?? 0).toFixed(2)} at end (${cpus().length} CPUs, shared with the NATS and database servers).
Run only these cells: \`BENCH_CASES=nats npm run bench\` (with \`BENCH_DIALECTS\`).

${results.length === 0 ? '(not run)' : table}
${skipped.map((s) => `\n- skipped: ${s}`).join('')}
${NATS_END}
`
}

export const NATS_START = '<!-- nats:start -->'
export const NATS_END = '<!-- nats:end -->'

/** `markdown` with its NATS section replaced by `section` (or `section` appended). */
export function spliceNats(markdown: string, section: string): string {
  const start = markdown.indexOf(NATS_START)
  const end = markdown.indexOf(NATS_END)
  if (start < 0 || end < start) return `${markdown.trimEnd()}\n\n${section}`
  const tail = markdown.slice(end + NATS_END.length).replace(/^\n/, '')
  return `${markdown.slice(0, start)}${section}${tail}`
}
