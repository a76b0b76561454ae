import type { ChangeEvent } from 'audited'
import { eventType } from './patterns.js'

/**
 * The body of a delivery (Standard Webhooks): the event's type, when it happened and the
 * change event as the audit API returns it.
 */
export function deliveryBody(event: ChangeEvent): string {
  const { cursor: _c, position: _p, ...data } = event as ChangeEvent & { cursor?: string; position?: string }
  return JSON.stringify({ type: eventType(event), timestamp: event.wallTime, data })
}

/** The body of a test delivery (`POST /api/v1/webhooks/:id/test`). */
export function pingBody(webhookId: string, at: Date): string {
  return JSON.stringify({ type: 'webhook.ping', timestamp: at.toISOString(), data: { webhookId } })
}
