/**
 * ISO 8601 dates and date-times that exist. `Date.parse` rolls `2024-02-30` over to
 * March 1 instead of refusing it; here the calendar fields are checked as written.
 */
const ISO = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)?)?$/

/** The date `text` names (`2024-05-01`, `2024-05-01T12:00:00Z`, …), or undefined when it
 * is not ISO 8601 or names a day, hour, minute or second that does not exist. */
export function parseIsoDate(text: string): Date | undefined {
  const m = ISO.exec(text)
  if (m === null) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const day = new Date(Date.UTC(y, mo - 1, d))
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return undefined
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59))
    return undefined
  const date = new Date(text)
  return Number.isNaN(date.getTime()) ? undefined : date
}
