/** The `Retry-After` response header (RFC 9110 §10.2.3) as a delay, for 429 and 503 answers. */

/** The longest wait a receiver may ask for; a longer one is cut to this. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000

/**
 * Milliseconds to wait: `Retry-After` is either delay-seconds (digits only) or an HTTP-date
 * (which starts with the day name); a date in the past is 0. Anything else, or no header, is
 * `undefined`: an invalid value is ignored, not guessed at.
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  now = Date.now(),
): number | undefined {
  const raw = typeof value === 'string' ? value : value?.[0]
  if (raw === undefined) return undefined
  const text = raw.trim()
  let ms: number
  if (/^\d{1,12}$/.test(text)) {
    ms = Number(text) * 1000
  } else if (/^[A-Za-z]{3,9},? /.test(text)) {
    const at = Date.parse(text)
    if (Number.isNaN(at)) return undefined
    ms = Math.max(0, at - now)
  } else {
    return undefined
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS)
}
