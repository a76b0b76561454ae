import type { ChangeEvent } from 'audited'

/**
 * NATS subjects of change events: `<prefix>.<tenant>.<table>.<action>`.
 *
 * A subject is tokens separated by `.`; `*` and `>` are wildcards and whitespace ends it, so
 * tenant and table names are encoded into tokens, reversibly: every character outside
 * `A-Z a-z 0-9 - _` becomes `%XX` per UTF-8 byte (as `encodeURIComponent` writes it, `%`
 * included). Events without a tenant use the token `_` (`NO_TENANT_TOKEN`); a tenant whose
 * name is exactly `_` is written `%5F`, so the two never meet.
 */
export const NO_TENANT_TOKEN = '_'

const PLAIN = /^[A-Za-z0-9_-]$/
const ALL_PLAIN = /^[A-Za-z0-9_-]+$/

/** One name as one subject token (never empty, never `.`, `*`, `>` or whitespace). */
export function encodeToken(name: string): string {
  if (name === NO_TENANT_TOKEN) return '%5F'
  if (ALL_PLAIN.test(name)) return name
  if (name === '') throw new RangeError('An empty name has no subject token.')
  let out = ''
  for (const ch of name) {
    if (PLAIN.test(ch)) out += ch
    else
      for (const byte of Buffer.from(ch, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** The name a token stands for (the inverse of `encodeToken`). */
export function decodeToken(token: string): string {
  return decodeURIComponent(token)
}

export function tenantToken(tenantId: string | null): string {
  return tenantId === null ? NO_TENANT_TOKEN : encodeToken(tenantId)
}

/** The tenant a subject's tenant token stands for (`null`: no tenant). */
export function tenantOfToken(token: string): string | null {
  return token === NO_TENANT_TOKEN ? null : decodeToken(token)
}

/** `<prefix>.<tenant>.<table>.<action>` for one event. */
export function subjectOf(prefix: string, event: Pick<ChangeEvent, 'tenantId' | 'table' | 'action'>): string {
  return `${prefix}.${tenantToken(event.tenantId)}.${encodeToken(event.table)}.${encodeToken(event.action)}`
}

/** A prefix is one or more tokens of `A-Z a-z 0-9 - _` separated by dots (not `$`-reserved). */
export function isSubjectPrefix(prefix: string): boolean {
  return prefix.length <= 200 && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)
}

/** A JetStream stream name: letters, digits, `-` and `_` (no `.`, wildcards, or separators). */
export function isStreamName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,200}$/.test(name)
}
