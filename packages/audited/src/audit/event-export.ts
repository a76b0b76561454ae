import type { Auditor } from './auditor.js'
import type { ChangeEvent } from './change-event.js'
import type { EventPage, ListEventsQuery } from './event-queries.js'

/** The export formats of the audit log. */
export type ExportFormat = 'ndjson' | 'csv'

/**
 * One chunk per page of events. The stream pulls the next chunk only when its buffer
 * has drained below the high-water mark; in byte mode (not `Readable.from`'s default
 * object mode, which would buffer 16 pages ahead) that is after the client took the
 * previous page, so about one page is in memory. A client that disconnects destroys the
 * stream, which returns the generator and stops the paging.
 */
export async function* exportChunks(
  auditor: Auditor,
  query: ListEventsQuery,
  first: EventPage,
  format: ExportFormat,
  onPage?: (events: number) => void,
): AsyncGenerator<string> {
  if (format === 'csv') yield csvLine(CSV_COLUMNS)
  let page = first
  for (;;) {
    onPage?.(page.events.length)
    if (page.events.length > 0) yield page.events.map(format === 'csv' ? csvEvent : ndjsonEvent).join('')
    if (!page.hasMore || page.nextCursor === null) return
    page = await auditor.events.list({ ...query, after: page.nextCursor })
  }
}

export function ndjsonEvent(event: ChangeEvent): string {
  return `${JSON.stringify(event)}\n`
}

/** CSV columns: every field of a change event, in the API's order. */
export const CSV_COLUMNS = [
  'eventId',
  'hlc',
  'wallTime',
  'nodeId',
  'tenantId',
  'txId',
  'table',
  'recordId',
  'operation',
  'action',
  'actorId',
  'actorType',
  'oldValues',
  'newValues',
  'changedFields',
  'requestId',
  'ip',
  'userAgent',
  'reason',
  'metadata',
] as const satisfies readonly (keyof ChangeEvent)[]

/** Objects and arrays as JSON text; `null` as an empty field. */
export function csvEvent(event: ChangeEvent): string {
  return csvLine(
    CSV_COLUMNS.map((column) => {
      const value = event[column]
      if (value === null) return ''
      return typeof value === 'object' ? JSON.stringify(value) : String(value)
    }),
  )
}

/** A field a spreadsheet would evaluate as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/

/**
 * RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF.
 * A field that would start a formula (`=`, `+`, `-`, `@`, tab, CR; user agents and entry
 * data are caller-controlled) gets a leading `'` and is quoted, as OWASP recommends: the
 * spreadsheet shows the text instead of running it.
 */
export function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`
}

function csvField(field: string): string {
  if (FORMULA_START.test(field)) return `"'${field.replaceAll('"', '""')}"`
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field
}
