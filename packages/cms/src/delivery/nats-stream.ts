import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream'
import { nanos } from '@nats-io/transport-node'

/** The shortest duplicate window a created stream gets (ms): a batch retried within it
 * (after a crash, a lost PubAck) is stored once. */
export const DUPLICATE_WINDOW_MS = 120_000

/** What `ensureStream` did. */
export interface StreamSetup {
  readonly action: 'created' | 'subject-added' | 'unchanged'
  readonly info: StreamInfo
  /** The existing stream's duplicate window (ms), when shorter than `DUPLICATE_WINDOW_MS`:
   * retries older than it may be stored twice (the stream is left as it is). */
  readonly shortDuplicateWindowMs?: number
}

/**
 * Makes sure `stream` exists and takes `<prefix>.>`: creates it when absent (file storage,
 * that subject, a 2-minute duplicate window); an existing stream is left alone, except that
 * a missing `<prefix>.>` is added to its subjects.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  stream: string,
  subjectPrefix: string,
): Promise<StreamSetup> {
  const subject = `${subjectPrefix}.>`
  let existing: StreamInfo | undefined
  try {
    existing = await jsm.streams.info(stream)
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound)) throw e
  }
  if (existing === undefined) {
    const info = await jsm.streams.add({
      name: stream,
      subjects: [subject],
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    })
    return { action: 'created', info }
  }
  const windowMs = Math.floor(Number(existing.config.duplicate_window ?? 0) / 1e6)
  const short = windowMs < DUPLICATE_WINDOW_MS ? { shortDuplicateWindowMs: windowMs } : {}
  const subjects = existing.config.subjects ?? []
  if (subjects.includes(subject)) return { action: 'unchanged', info: existing, ...short }
  const info = await jsm.streams.update(stream, { subjects: [...subjects, subject] })
  return { action: 'subject-added', info, ...short }
}
