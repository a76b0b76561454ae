/**
 * Change events to NATS JetStream: a durable feed consumer publishes every event to
 * `<prefix>.<tenant>.<table>.<action>` (see nats-subjects.ts) with `Nats-Msg-Id` = its
 * event id and the event's JSON as body. A batch is acknowledged (its offset moves) only
 * once every PubAck of it arrived; a failed publish fails the batch, which is retried whole
 * — JetStream drops the messages it already stored by their `Nats-Msg-Id` within the
 * stream's duplicate window. At least once to JetStream, exactly once in the stream.
 *
 * The server imports this module (and so the NATS client) only when NATS_URL is set.
 */
import { type JetStreamClient, jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream'
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node'
import type { Auditor, FeedEvent, FeedHandler, Subscription } from 'audited'
import { ensureStream, type StreamSetup } from './nats-stream.js'
import { subjectOf } from './nats-subjects.js'

/** The NATS server's default `max_payload` (bytes), when the server did not say. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** The consumer's name in `audited_consumers` (its offset and lease). */
export const NATS_CONSUMER = 'audited.nats'

/** Counts of what was published (e.g. the server's Prometheus counters). */
export interface NatsPublishCounts {
  /** Events acknowledged by JetStream; `duplicates` of them it already had. */
  published(events: number, duplicates: number): void
  /** Publishes that failed (no PubAck, or a refusal). */
  failed(events: number): void
}

export interface NatsPublishOptions {
  readonly subjectPrefix: string
  /** The stream every message must land in (a subject taken by another stream is refused). */
  readonly stream: string
  /** How long to wait for one PubAck (ms, default 10 000). */
  readonly ackTimeoutMs?: number
  readonly counts?: NatsPublishCounts
}

export interface NatsPublisherOptions extends NatsPublishOptions {
  /** `nats://host:port`, or several separated by commas. */
  readonly url: string
  /** The consumer's name (default `NATS_CONSUMER`). */
  readonly consumer?: string
  /** Events per batch, 1 to 1000 (default 1000): published concurrently, acked together. */
  readonly batchSize?: number
  /** The client's name, as the NATS server shows it (default `audited`). */
  readonly clientName?: string
  /** Each failed batch (the consumer retries it with backoff, then parks). */
  readonly onError?: (error: unknown, info: { attempt: number; parked: boolean }) => void
}

export interface NatsPublisher {
  readonly subscription: Subscription
  readonly stream: StreamSetup
  /** Stops the consumer (after its batch in hand), then drains the connection. */
  close(): Promise<void>
}

/** A change event's message body: the event as the API returns it (without the feed's
 * `cursor` and `position`). */
export function messageBody(event: FeedEvent): string {
  const { cursor: _cursor, position: _position, ...plain } = event
  return JSON.stringify(plain)
}

/** Fields left out of a message too big for the server's `max_payload`, largest first. */
const OMITTABLE = ['oldValues', 'newValues', 'changedFields', 'metadata'] as const

/** Room kept for the headers and the subject within `max_payload` (bytes). */
const HEADER_ROOM = 1024

/**
 * The message of one event: its body and, when the whole event does not fit `maxPayload`,
 * the fields left out (`Audited-Omitted`; the body says so too): the event is still
 * published — in order, once — and a consumer fetches the whole one from
 * `GET /api/v1/audit/events/:eventId`. Without this an event bigger than the server's
 * `max_payload` (1 MB by default; an entry update with large text fields exceeds it) would
 * fail its batch for ever and park the publisher.
 */
export function eventMessage(event: FeedEvent, maxPayload: number): { body: string; omitted: string[] } {
  const body = messageBody(event)
  if (Buffer.byteLength(body) <= maxPayload - HEADER_ROOM) return { body, omitted: [] }
  const { cursor: _cursor, position: _position, ...plain } = event
  const reduced: Record<string, unknown> = { ...plain }
  const omitted: string[] = []
  for (const field of OMITTABLE) {
    if (reduced[field] === null || reduced[field] === undefined) continue
    delete reduced[field]
    omitted.push(field)
    const text = JSON.stringify({ ...reduced, omitted })
    if (Buffer.byteLength(text) <= maxPayload - HEADER_ROOM) return { body: text, omitted }
  }
  return { body: JSON.stringify({ ...reduced, omitted }), omitted }
}

/** One error for a batch whose publishes did not all succeed. */
export class NatsPublishError extends Error {
  readonly failures: number
  constructor(failures: number, total: number, first: unknown) {
    const reason = first instanceof Error ? first.message : String(first)
    super(`${failures} of ${total} NATS publishes failed (first: ${reason})`, { cause: first })
    this.name = 'NatsPublishError'
    this.failures = failures
  }
}

/**
 * The consumer's handler: publishes the whole batch at once and resolves when every
 * PubAck arrived; throws (the batch is retried) when any did not.
 */
export function natsBatchHandler(
  js: JetStreamClient,
  options: NatsPublishOptions,
  maxPayload = DEFAULT_MAX_PAYLOAD,
): FeedHandler {
  const timeout = options.ackTimeoutMs ?? 10_000
  const expect = { streamName: options.stream }
  return async (events, info) => {
    if (info.signal.aborted) throw new Error('the consumer stopped before publishing')
    const results = await Promise.allSettled(
      events.map((event): Promise<PubAck> => {
        const { body, omitted } = eventMessage(event, maxPayload)
        let h: MsgHdrs | undefined
        if (omitted.length > 0) {
          h = headers()
          h.set('Audited-Omitted', omitted.join(','))
        }
        return js.publish(subjectOf(options.subjectPrefix, event), body, {
          msgID: event.eventId,
          expect,
          timeout,
          ...(h === undefined ? {} : { headers: h }),
        })
      }),
    )
    let duplicates = 0
    let failures = 0
    let first: unknown
    for (const r of results) {
      if (r.status === 'fulfilled') {
        if (r.value.duplicate) duplicates += 1
      } else {
        if (failures === 0) first = r.reason
        failures += 1
      }
    }
    options.counts?.published(events.length - failures, duplicates)
    if (failures > 0) {
      options.counts?.failed(failures)
      throw new NatsPublishError(failures, events.length, first)
    }
  }
}

/** Connects to NATS (reconnecting for ever once connected). */
export function connectNats(url: string, name = 'audited'): Promise<NatsConnection> {
  return connect({
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
  })
}

/**
 * Connects, makes sure the stream exists (see `ensureStream`), and runs the durable
 * consumer that publishes every change event from the start of the feed.
 */
export async function startNatsPublisher(
  auditor: Auditor,
  options: NatsPublisherOptions,
): Promise<NatsPublisher> {
  const nc = await connectNats(options.url, options.clientName)
  let stream: StreamSetup
  try {
    stream = await ensureStream(await jetstreamManager(nc), options.stream, options.subjectPrefix)
  } catch (e) {
    await nc.close()
    throw e
  }
  const js = jetstream(nc)
  const onError = options.onError
  const subscription = auditor.feed.subscribe(
    options.consumer ?? NATS_CONSUMER,
    natsBatchHandler(js, options, nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD),
    {
      from: 'start',
      batchSize: options.batchSize ?? 1000,
      ...(onError === undefined
        ? {}
        : { onError: (error, i) => onError(error, { attempt: i.attempt, parked: i.parked }) }),
    },
  )
  let closing: Promise<void> | undefined
  return {
    subscription,
    stream,
    close() {
      closing ??= (async () => {
        await subscription.stop()
        await nc.drain()
      })()
      return closing
    },
  }
}
