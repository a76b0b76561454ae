import { AuditedError } from '../core/errors.js'

/**
 * A place in the feed: just after the event at (`position`, `eventId`). Opaque to callers
 * (base64url of `f1.<position>.<eventId>`); the start of the feed is position -1.
 */
export interface FeedPoint {
  readonly position: bigint
  readonly eventId: string
}

export const FEED_START: FeedPoint = { position: -1n, eventId: '' }

const MAX_POSITION = 9223372036854775807n

const FORMAT = /^f1\.(-1|0|[1-9]\d{0,18})\.([0-9A-HJKMNP-TV-Z]{26})?$/

export function encodeFeedCursor(point: FeedPoint): string {
  return Buffer.from(`f1.${point.position}.${point.eventId}`, 'utf8').toString('base64url')
}

/** A cursor back into a point; `validation` (field `field`) when it is not one. */
export function decodeFeedCursor(cursor: unknown, field = 'after'): FeedPoint {
  const text =
    typeof cursor === 'string' && cursor.length <= 200
      ? Buffer.from(cursor, 'base64url').toString('utf8')
      : ''
  const m = FORMAT.exec(text)
  // A position is a signed 64-bit integer in every database: a larger one is no place in the feed.
  if (m === null || (m[1] === '-1') !== (m[2] === undefined) || BigInt(m[1]!) > MAX_POSITION) {
    throw new AuditedError('validation', 'The feed cursor is malformed.', { details: { field } })
  }
  return { position: BigInt(m[1]!), eventId: m[2] ?? '' }
}

/** True when `a` is after `b` in feed order. */
export function isAfter(a: FeedPoint, b: FeedPoint): boolean {
  return a.position > b.position || (a.position === b.position && a.eventId > b.eventId)
}
