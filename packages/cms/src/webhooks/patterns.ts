/**
 * A subscription's `events` patterns and the event types they match. An event's type is
 * `<table>.<action>` (`entries.publish`, `users.create`); a pattern is `*`, `<table>.*`,
 * `*.<action>` or an exact type.
 */
import { ACTIONS, type ChangeEvent } from 'audited'

export { ACTIONS }

/** The type of an event as webhooks name it. */
export const eventType = (e: Pick<ChangeEvent, 'table' | 'action'>): string => `${e.table}.${e.action}`

/** Why `pattern` is not one, or undefined when it is (tables: the CMS's). */
export function patternProblem(pattern: string, tables: readonly string[]): string | undefined {
  if (pattern === '*') return undefined
  const [table, action, extra] = pattern.split('.')
  if (extra !== undefined || table === undefined || action === undefined)
    return `"${pattern}" is not *, <table>.*, *.<action> or <table>.<action>.`
  if (table !== '*' && !tables.includes(table))
    return `"${pattern}": unknown table ${table} (one of ${tables.join(', ')}).`
  if (action !== '*' && !(ACTIONS as readonly string[]).includes(action))
    return `"${pattern}": unknown action ${action} (one of ${ACTIONS.join(', ')}).`
  if (table === '*' && action === '*') return `"${pattern}": write * instead.`
  return undefined
}

/** True when any pattern matches the type. */
export function matches(patterns: readonly string[], type: string): boolean {
  const dot = type.indexOf('.')
  const table = type.slice(0, dot)
  const action = type.slice(dot + 1)
  return patterns.some((p) => {
    if (p === '*' || p === type) return true
    const [pt, pa] = p.split('.')
    return (pt === '*' || pt === table) && (pa === '*' || pa === action)
  })
}
