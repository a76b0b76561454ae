/**
 * Restore a record to a version: first a preview of what the restore brings back (the current
 * state against the chosen version, limited to the fields that resource's restore writes),
 * then an explicit confirmation; `POST /audit/restore` records it as its own event.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, type ChangeEvent, type Page, qs } from '../api.js'
import { ErrorNote } from './common.js'
import { DiffView } from './diff-view.js'

/** What each resource's restore writes (README, Restore); others: every column but bookkeeping. */
const RESTORED: Readonly<Record<string, readonly string[]>> = {
  entries: ['data', 'locale'],
  content_types: ['name', 'fields'],
  users: ['email', 'name', 'role', 'platform_admin'],
  tenants: ['name', 'limits'],
}
const BOOKKEEPING = new Set(['id', 'tenant_id', 'version', 'created_at', 'updated_at'])

function restoredPart(table: string, values: Record<string, unknown> | null): Record<string, unknown> | null {
  if (values === null) return null
  const keep = RESTORED[table]
  return Object.fromEntries(
    Object.entries(values).filter(([k]) => (keep ? keep.includes(k) : !BOOKKEEPING.has(k))),
  )
}

export function RestorePanel({
  table,
  id,
  target,
  version,
  onClose,
  onRestored,
}: {
  table: string
  id: string
  target: ChangeEvent
  version: number
  onClose: () => void
  onRestored: () => void
}) {
  const [current, setCurrent] = useState<Record<string, unknown> | null | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    heading.current?.focus()
    // The newest event's state is the record as it is now.
    api<Page<ChangeEvent>>(
      'GET',
      `/audit/events${qs({ table, recordId: id, order: 'desc', limit: 1 })}`,
    ).then(
      (p) => setCurrent(p.items[0]?.newValues ?? null),
      (e) => setError((e as Error).message),
    )
  }, [target.eventId])
  const confirm = async () => {
    setBusy(true)
    try {
      await api('POST', `/audit/restore/${encodeURIComponent(table)}/${encodeURIComponent(id)}`, {
        eventId: target.eventId,
      })
      onRestored()
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <section class="panel" aria-label="Restore preview" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <h2 ref={heading} tabIndex={-1}>
        Restore version {version}?
      </h2>
      <p>
        The restore writes the difference below (now → version {version}) through the {table} rules, and is
        recorded as its own <code>restore</code> event.
      </p>
      {current === undefined ? (
        <p class="muted">Reading the current state…</p>
      ) : (
        <DiffView
          label="What the restore will change"
          before={restoredPart(table, current)}
          after={restoredPart(table, target.newValues)}
          beforeLabel="Now"
          afterLabel={`Version ${version}`}
        />
      )}
      <ErrorNote error={error} />
      <div class="buttons">
        <button
          type="button"
          class="danger"
          disabled={busy || current === undefined}
          onClick={() => void confirm()}
        >
          Confirm restore
        </button>
        <button type="button" class="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </section>
  )
}
