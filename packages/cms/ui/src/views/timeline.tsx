/**
 * A record's timeline: every version (event) with actor, time, action, reason and request
 * context, oldest first, virtualized and paged from `GET /audit/history`; pick any two to
 * compare, see the record as it was at a time or an event, restore any version after a
 * preview of what the restore brings back.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, type ChangeEvent, type Page, qs } from '../api.js'
import { ActionBadge, Actor, ErrorNote, eventHref, when } from './common.js'
import { DiffView } from './diff-view.js'
import { RestorePanel } from './restore.js'
import { StateAt } from './state-at.js'
import { VirtualList } from './virtual-list.js'

const FIRST_PAGE = 100
const NEXT_PAGE = 1000

export function Timeline({ table, id }: { table: string; id: string }) {
  const [items, setItems] = useState<ChangeEvent[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [hasMore, setHasMore] = useState(false)
  const [picked, setPicked] = useState<string[]>([])
  const [restoreOf, setRestoreOf] = useState<ChangeEvent | null>(null)
  const [stateAt, setStateAt] = useState<string>('')
  const [error, setError] = useState<string | null>(null)
  const loading = useRef(false)
  const base = `/audit/history/${encodeURIComponent(table)}/${encodeURIComponent(id)}`

  const more = async (after: string | null, limit: number) => {
    if (loading.current) return
    loading.current = true
    try {
      const page = await api<Page<ChangeEvent>>('GET', `${base}${qs({ after, limit })}`)
      setItems((old) => (after === null ? page.items : [...old, ...page.items]))
      setCursor(page.nextCursor)
      setHasMore(page.hasMore)
    } catch (e) {
      setError((e as Error).message)
    } finally {
      loading.current = false
    }
  }

  useEffect(() => {
    performance.clearMarks('timeline:open')
    performance.clearMeasures('timeline:first-page')
    performance.mark('timeline:open')
    setItems([])
    setPicked([])
    void more(null, FIRST_PAGE)
  }, [table, id])
  useEffect(() => {
    if (items.length > 0 && performance.getEntriesByName('timeline:first-page').length === 0)
      requestAnimationFrame(() => {
        if (performance.getEntriesByName('timeline:first-page').length === 0)
          performance.measure('timeline:first-page', 'timeline:open')
      })
  }, [items.length])

  const toggle = (eventId: string) =>
    setPicked((p) => (p.includes(eventId) ? p.filter((x) => x !== eventId) : [...p, eventId].slice(-2)))
  const index = new Map(items.map((e, i) => [e.eventId, i]))
  const pair = picked
    .map((p) => index.get(p))
    .filter((i): i is number => i !== undefined)
    .sort((a, b) => a - b)

  const row = (e: ChangeEvent, i: number) => (
    <div class="trow" data-version={i + 1}>
      <input
        type="checkbox"
        id={`pick-${e.eventId}`}
        checked={picked.includes(e.eventId)}
        onChange={() => toggle(e.eventId)}
        aria-label={`Compare version ${i + 1}`}
      />
      <span class="ver">v{i + 1}</span>
      <ActionBadge action={e.action} />
      <span class="time">{when(e.wallTime)}</span>
      <Actor e={e} />
      <span class="reason" title={e.reason ?? ''}>
        {e.reason ?? ''}
      </span>
      <span class="ctx muted" title={`${e.requestId ?? ''} ${e.ip ?? ''} ${e.userAgent ?? ''}`}>
        {e.requestId ? `req ${e.requestId}` : ''} {e.ip ?? ''}
      </span>
      <span class="actions">
        <button
          type="button"
          class="small"
          onClick={() => setStateAt(e.hlc)}
          aria-label={`State at version ${i + 1}`}
        >
          State
        </button>
        <button
          type="button"
          class="small"
          onClick={() => setRestoreOf(e)}
          aria-label={`Restore version ${i + 1}`}
        >
          Restore
        </button>
        <a href={eventHref(e.eventId)} aria-label={`details of version ${i + 1}`}>
          details
        </a>
      </span>
    </div>
  )

  const a = pair.length === 2 ? items[pair[0]!]! : undefined
  const b = pair.length === 2 ? items[pair[1]!]! : undefined
  return (
    <div>
      <h1 tabIndex={-1}>
        Timeline of {table}/{id}
      </h1>
      <p class="muted" aria-live="polite">
        {items.length} version{items.length === 1 ? '' : 's'} loaded
        {hasMore ? ' (more load as you scroll)' : ''}. Tick two versions to compare them.
      </p>
      <ErrorNote error={error} />
      <VirtualList
        items={items}
        rowHeight={40}
        height={Math.min(440, Math.max(items.length, 1) * 40 + 2)}
        label={`Versions of ${table}/${id}, oldest first`}
        row={row}
        onNearEnd={() => hasMore && void more(cursor, NEXT_PAGE)}
      />
      {a && b && (
        <section aria-label="Comparison">
          <h2>
            Version {pair[0]! + 1} → version {pair[1]! + 1}
          </h2>
          <DiffView
            label={`Difference of version ${pair[0]! + 1} and version ${pair[1]! + 1}`}
            before={a.newValues}
            after={b.newValues}
            beforeLabel={`v${pair[0]! + 1} (${a.action})`}
            afterLabel={`v${pair[1]! + 1} (${b.action})`}
          />
        </section>
      )}
      <StateAt
        table={table}
        id={id}
        at={stateAt}
        onAt={setStateAt}
        label={(hlc) => {
          const i = items.findIndex((e) => e.hlc === hlc)
          return i < 0 ? undefined : `version ${i + 1} (${when(items[i]!.wallTime)})`
        }}
      />
      {restoreOf && (
        <RestorePanel
          table={table}
          id={id}
          target={restoreOf}
          version={(index.get(restoreOf.eventId) ?? 0) + 1}
          onClose={() => {
            const n = (index.get(restoreOf.eventId) ?? 0) + 1
            setRestoreOf(null)
            // Back where the keyboard was: the Restore button that opened the preview.
            document.querySelector<HTMLElement>(`[aria-label="Restore version ${n}"]`)?.focus()
          }}
          onRestored={() => {
            setRestoreOf(null)
            void more(cursor, NEXT_PAGE)
          }}
        />
      )}
    </div>
  )
}
