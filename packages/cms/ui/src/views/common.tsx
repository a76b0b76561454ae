/** Small pieces every screen uses. */
import type { ComponentChildren } from 'preact'
import type { ChangeEvent } from '../api.js'
import { href } from '../route.js'

export const when = (iso: string): string => new Date(iso).toLocaleString(undefined, { hour12: false })

export function Actor({ e }: { e: ChangeEvent }) {
  return (
    <span title={`${e.actorId ?? '—'} (${e.actorType ?? 'unknown'})`}>
      {e.actorId ?? '—'} <span class="muted">({e.actorType ?? 'unknown'})</span>
    </span>
  )
}

export function ActionBadge({ action }: { action: string }) {
  return <span class={`badge action-${action}`}>{action}</span>
}

export const recordHref = (e: { table: string; recordId: string }) => href('record', e.table, e.recordId)
export const eventHref = (eventId: string) => href('event', eventId)

export function ErrorNote({ error }: { error: string | null }) {
  if (error === null) return null
  return (
    <p class="error" role="alert">
      {error}
    </p>
  )
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  )
}
