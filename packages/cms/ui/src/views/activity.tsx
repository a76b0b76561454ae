/**
 * Activity: the tenant's change feed, newest first (`GET /audit/events?order=desc`), filtered
 * by table, record, actor, action and time range, paged by cursor ("Older events"), with new
 * events arriving live from the SSE stream at the top, without a reload.
 */
import { useEffect, useState } from 'preact/hooks'
import { ACTIONS, api, type ChangeEvent, type Page, qs, TABLES } from '../api.js'
import { followStream } from '../stream.js'
import { ActionBadge, Actor, ErrorNote, eventHref, recordHref, when } from './common.js'

interface Filters {
  table: string
  recordId: string
  actorId: string
  action: string
  from: string
  to: string
}
const EMPTY: Filters = { table: '', recordId: '', actorId: '', action: '', from: '', to: '' }
const iso = (local: string) => (local === '' ? '' : new Date(local).toISOString())

export function Activity() {
  const [filters, setFilters] = useState<Filters>(EMPTY)
  const [events, setEvents] = useState<ChangeEvent[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [hasMore, setHasMore] = useState(false)
  const [live, setLive] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [formKey, setFormKey] = useState(0)

  const query = (after?: string | null) =>
    qs({
      table: filters.table,
      recordId: filters.table === '' ? '' : filters.recordId,
      actorId: filters.actorId,
      action: filters.action,
      from: iso(filters.from),
      to: iso(filters.to),
      order: 'desc',
      limit: 50,
      after,
    })

  const load = async (after?: string | null) => {
    try {
      const page = await api<Page<ChangeEvent>>('GET', `/audit/events${query(after)}`)
      setEvents((old) => (after ? [...old, ...page.items] : page.items))
      setCursor(page.nextCursor)
      setHasMore(page.hasMore)
      setError(null)
    } catch (e) {
      setError((e as Error).message)
    }
  }

  useEffect(() => {
    void load()
    // Live: a filter with an upper time bound shows a closed range; nothing new belongs in it.
    if (filters.to !== '') return
    const stream = followStream(
      qs({
        table: filters.table,
        recordId: filters.table === '' ? '' : filters.recordId,
        action: filters.action,
      }),
      (e) => {
        if (filters.actorId !== '' && e.actorId !== filters.actorId) return
        setEvents((old) => (old.some((o) => o.eventId === e.eventId) ? old : [e, ...old]))
      },
      setLive,
    )
    return () => stream.close()
  }, [filters])

  const submit = (e: Event) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    setFilters(
      Object.fromEntries(Object.keys(EMPTY).map((k) => [k, String(f.get(k) ?? '')])) as unknown as Filters,
    )
  }

  return (
    <div>
      <h1 tabIndex={-1}>Activity</h1>
      <p class="muted" aria-live="polite">
        {filters.to !== ''
          ? 'A closed time range: not live.'
          : live
            ? '● Live: new changes appear at the top.'
            : 'Connecting to the live stream…'}
      </p>
      <form class="filters" key={formKey} onSubmit={submit} aria-label="Filters">
        <label>
          Table
          <select name="table">
            <option value="">any</option>
            {TABLES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Record id
          <input name="recordId" placeholder="needs a table" />
        </label>
        <label>
          Actor id
          <input name="actorId" />
        </label>
        <label>
          Action
          <select name="action">
            <option value="">any</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input name="from" type="datetime-local" step="1" />
        </label>
        <label>
          To
          <input name="to" type="datetime-local" step="1" />
        </label>
        <button type="submit">Apply</button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setFilters({ ...EMPTY })
            setFormKey((k) => k + 1)
          }}
        >
          Clear
        </button>
      </form>
      <ErrorNote error={error} />
      <table class="events" aria-label="Change events, newest first">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Record</th>
            <th scope="col">Actor</th>
            <th scope="col">Changed</th>
            <th scope="col">Event</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.eventId} data-event-id={e.eventId}>
              <td>{when(e.wallTime)}</td>
              <td>
                <ActionBadge action={e.action} />
              </td>
              <td>
                <a href={recordHref(e)}>
                  {e.table}/{e.recordId}
                </a>
              </td>
              <td>
                <Actor e={e} />
              </td>
              <td class="fields">{e.changedFields.join(', ')}</td>
              <td>
                <a href={eventHref(e.eventId)} aria-label={`details of event ${e.eventId}`}>
                  details
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.length === 0 && <p class="muted">No events match.</p>}
      {hasMore && (
        <button type="button" onClick={() => void load(cursor)}>
          Older events
        </button>
      )}
    </div>
  )
}
