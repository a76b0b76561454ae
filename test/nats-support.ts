/**
 * NATS for the delivery tests: the server at NATS_URL (default the local one, JetStream
 * on), probed once. Unreachable, its tests are skipped with a loud reason — unless CI=true,
 * where that fails the run. Every test uses its own stream and subject prefix and deletes
 * the stream afterwards, so runs never collide. Streams are read with `@nats-io/jetstream`.
 */
import { randomBytes } from 'node:crypto'
import { type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const IN_CI = process.env.CI === 'true' || process.env.CI === '1'

async function probe(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 5000, maxReconnectAttempts: 0 })
    try {
      await (await jetstreamManager(nc)).getAccountInfo()
    } finally {
      await nc.close()
    }
    return undefined
  } catch (e) {
    const reason = `NATS with JetStream is not reachable at ${NATS_URL} (${(e as Error).message}); the NATS delivery tests are SKIPPED. Set CI=true to fail instead.`
    if (IN_CI) throw new Error(`CI=true and ${reason}`)
    process.stderr.write(`\n!!! ${reason}\n\n`)
    return reason
  }
}

/** Why the NATS tests are skipped, or undefined when they run. */
export const natsSkip = await probe()

/** A stream name and subject prefix no other run uses. */
export function uniqueNames(): { stream: string; prefix: string } {
  const tag = `${process.pid}_${randomBytes(4).toString('hex')}`
  return { stream: `AUDITED_T_${tag}`, prefix: `audited_t_${tag}` }
}

/** One stored message as the tests look at it. */
export interface StoredEvent {
  readonly subject: string
  readonly msgId: string | undefined
  readonly body: Record<string, unknown>
  readonly seq: number
  readonly headers: JsMsg['headers']
}

/** A client connection for reading and managing test streams. */
export class NatsReader {
  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {}

  static async open(): Promise<NatsReader> {
    const nc = await connect({ servers: NATS_URL })
    return new NatsReader(nc, await jetstreamManager(nc))
  }

  /** Messages in the stream now (0 when it does not exist). */
  async count(stream: string): Promise<number> {
    try {
      return (await this.jsm.streams.info(stream)).state.messages
    } catch {
      return 0
    }
  }

  /** Every message of the stream, in stream order (an ordered consumer). */
  async readAll(stream: string): Promise<StoredEvent[]> {
    const total = await this.count(stream)
    const out: StoredEvent[] = []
    if (total === 0) return out
    const consumer = await jetstream(this.nc).consumers.get(stream)
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 5000 })
      let got = 0
      for await (const m of batch as AsyncIterable<JsMsg>) {
        got += 1
        out.push({
          subject: m.subject,
          msgId: m.headers?.get('Nats-Msg-Id'),
          body: m.json<Record<string, unknown>>(),
          seq: m.seq,
          headers: m.headers,
        })
      }
      if (got === 0) throw new Error(`read ${out.length} of ${total} messages of ${stream}, then nothing`)
    }
    return out
  }

  /** Deletes the stream and the checkpoint witness stream a server made beside it. */
  async deleteStream(stream: string): Promise<void> {
    await this.jsm.streams.delete(stream).catch(() => false)
    await this.jsm.streams.delete(`${stream}_CHECKPOINTS`).catch(() => false)
  }

  async close(): Promise<void> {
    await this.nc.close()
  }
}

/** Polls `check` until it holds (or fails after `timeoutMs`, saying what it waited for). */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Message ids seen more than once. */
export function duplicateIds(messages: readonly StoredEvent[]): string[] {
  const seen = new Set<string>()
  const twice = new Set<string>()
  for (const m of messages) {
    const id = m.msgId ?? ''
    if (seen.has(id)) twice.add(id)
    seen.add(id)
  }
  return [...twice]
}
