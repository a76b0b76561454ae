import type { Auditor, Entity, JsonObject } from 'audited'
import { AuditedError, ERASED } from 'audited'

/**
 * The state a record had right after `eventId`, read through the engine's events API
 * within `tenantId`: the target of a restore. An event of another tenant or another
 * record is `not_found`; an event after which the record did not exist is `validation`
 * (delete the record instead). Redacted columns hold the mask: callers never write them.
 */
export async function restoreTarget(
  auditor: Auditor,
  entity: Entity<object>,
  id: string,
  eventId: string,
  tenantId: string,
): Promise<JsonObject> {
  const event = await auditor.events.get(eventId, { tenantId })
  if (event.table !== entity.table || event.recordId !== id) {
    throw new AuditedError('not_found', 'No event with that id for this record.', { details: { eventId } })
  }
  if (event.newValues === null) {
    throw new AuditedError('validation', 'The record did not exist after that event; delete it instead.', {
      details: { eventId },
    })
  }
  assertNotErased(
    entity.table,
    [...entity.personal].filter((c) => event.newValues![c] === ERASED),
    eventId,
  )
  return event.newValues
}

/** A restore would write `"[erased]"` back as a value: refused (`conflict`, reason `erased`). */
export function assertNotErased(table: string, fields: readonly string[], eventId: string): void {
  if (fields.length === 0) return
  throw new AuditedError('conflict', "The event's personal values were erased: they cannot be restored.", {
    details: { reason: 'erased', table, fields: [...fields], eventId },
  })
}

/** A text column of a restore target, or `validation` when the event does not hold one. */
export function textOf(state: JsonObject, column: string): string {
  const value = state[column]
  if (typeof value !== 'string') {
    throw new AuditedError('validation', `The event holds no "${column}" to restore.`, {
      details: { column },
    })
  }
  return value
}
