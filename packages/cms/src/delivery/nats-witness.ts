/**
 * Checkpoints witnessed in NATS JetStream (with NATS_URL): every new signed checkpoint goes
 * to `<prefix>_checkpoints.<tenant>` on its own stream (`<stream>_CHECKPOINTS`), created when
 * absent with `deny_delete` and `deny_purge` — JetStream then refuses to delete or purge
 * single messages, so the witnessed checkpoints cannot be rewritten through the stream's API
 * (whoever administers the NATS account can still delete the whole stream: run the witness
 * on an account the database's owner does not hold). `audited verify --against nats://…`
 * reads them back and checks the log against them.
 *
 * The message body is the witness file's line (tenantId, treeSize, rootHash, createdAt,
 * note); `Nats-Msg-Id` is `<tenant token>:<tree size>`, so a republished checkpoint is stored
 * once. A failed publish is reported (the server logs it); sealing never waits for NATS.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream'
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node'
import type { SealedCheckpoint } from 'audited'
import { witnessLine } from '../server/witness-file.js'
import { DUPLICATE_WINDOW_MS } from './nats-stream.js'
import { tenantToken } from './nats-subjects.js'

/** Where checkpoints are witnessed, derived from the change events' stream and prefix. */
export interface NatsWitnessTarget {
  readonly stream: string
  readonly subjectPrefix: string
}

export function witnessTarget(eventStream: string, eventPrefix: string): NatsWitnessTarget {
  return { stream: `${eventStream}_CHECKPOINTS`, subjectPrefix: `${eventPrefix}_checkpoints` }
}

export interface NatsWitness {
  /** Publishes one checkpoint and waits for its PubAck (rejects on failure). */
  append(checkpoint: SealedCheckpoint): Promise<void>
  close(): Promise<void>
}

/** Creates the witness stream when absent; an existing one must refuse deletes and purges
 * (`deny_delete`, `deny_purge`): one that allows them witnesses nothing, and is refused. */
export async function ensureWitnessStream(jsm: JetStreamManager, target: NatsWitnessTarget): Promise<void> {
  try {
    const { config } = await jsm.streams.info(target.stream)
    if (config.deny_delete !== true || config.deny_purge !== true)
      throw new Error(
        `the NATS stream ${target.stream} allows deleting or purging messages (deny_delete and deny_purge must be set): a witness it can rewrite proves nothing`,
      )
    return
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound)) throw e
  }
  await jsm.streams.add({
    name: target.stream,
    subjects: [`${target.subjectPrefix}.>`],
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    deny_delete: true,
    deny_purge: true,
  })
}

/** Connects (reconnecting for ever once connected) and makes sure the stream exists. */
export async function openNatsWitness(
  url: string,
  target: NatsWitnessTarget,
  name: string,
): Promise<NatsWitness> {
  const nc = await connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  })
  try {
    await ensureWitnessStream(await jetstreamManager(nc), target)
  } catch (e) {
    await nc.close()
    throw e
  }
  const js = jetstream(nc)
  return {
    async append(c) {
      const token = tenantToken(c.tenantId)
      await js.publish(`${target.subjectPrefix}.${token}`, witnessLine(c), {
        msgID: `${token}:${c.treeSize}`,
        expect: { streamName: target.stream },
        timeout: 10_000,
      })
    },
    async close() {
      await nc.drain()
    },
  }
}

/**
 * Every checkpoint note witnessed in `target` (of one tenant, or all), in stream order. An
 * absent stream is an error naming it: a verification against no witness proves nothing.
 */
export async function readNatsWitness(
  url: string,
  target: NatsWitnessTarget,
  tenantId?: string | null,
  auth: { user?: string; pass?: string } = {},
): Promise<string[]> {
  const nc: NatsConnection = await connect({
    servers: url.split(',').map((s) => s.trim()),
    timeout: 5000,
    maxReconnectAttempts: 0,
    ...(auth.user ? { user: auth.user } : {}),
    ...(auth.pass ? { pass: auth.pass } : {}),
  })
  try {
    const jsm = await jetstreamManager(nc)
    const subject =
      tenantId === undefined
        ? `${target.subjectPrefix}.>`
        : `${target.subjectPrefix}.${tenantToken(tenantId)}`
    let total: number
    try {
      const info = await jsm.streams.info(target.stream, { subjects_filter: subject })
      total = tenantId === undefined ? info.state.messages : (info.state.subjects?.[subject] ?? 0)
    } catch (e) {
      if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound)
        throw new Error(`the NATS stream ${target.stream} does not exist (no checkpoint was witnessed there)`)
      throw e
    }
    const notes: string[] = []
    if (total === 0) return notes
    const consumer = await jetstream(nc).consumers.get(target.stream, { filter_subjects: subject })
    while (notes.length < total) {
      const batch = await consumer.fetch({
        max_messages: Math.min(1000, total - notes.length),
        expires: 5000,
      })
      let got = 0
      for await (const m of batch as AsyncIterable<JsMsg>) {
        got += 1
        let note: unknown
        try {
          note = (m.json<{ note?: unknown } | null>() as { note?: unknown } | null)?.note
        } catch {
          note = undefined
        }
        if (typeof note !== 'string')
          throw new Error(
            `message ${m.seq} of ${target.stream} is not a checkpoint ({"tenantId", …, "note"})`,
          )
        notes.push(note)
      }
      if (got === 0)
        throw new Error(`read ${notes.length} of ${total} checkpoints of ${target.stream}, then nothing`)
    }
    return notes
  } finally {
    await nc.close()
  }
}
