/** Webhook subscriptions and their deliveries: failed (retrying, dead) ones first, each replayable. */
import { useEffect, useState } from 'preact/hooks'
import { api, type Page, qs } from '../api.js'
import { ErrorNote, eventHref, when } from './common.js'

interface Webhook {
  id: string
  url: string
  events: string[]
  active: boolean
}
interface Delivery {
  id: string
  eventId: string
  type: string
  status: string
  attemptCount: number
  lastStatus: number | null
  lastError: string | null
  updatedAt: string
}

export function Webhooks() {
  const [hooks, setHooks] = useState<Webhook[]>([])
  const [open, setOpen] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api<Page<Webhook>>('GET', '/webhooks?limit=200').then(
      (p) => setHooks(p.items),
      (e) => setError(e.message),
    )
  }, [])
  return (
    <div>
      <h1 tabIndex={-1}>Webhooks</h1>
      <ErrorNote error={error} />
      {hooks.length === 0 && (
        <p class="muted">No webhook subscriptions (create them with POST /api/v1/webhooks).</p>
      )}
      <ul class="cards">
        {hooks.map((h) => (
          <li key={h.id}>
            <code>{h.url}</code> <span class="muted">{h.events.join(', ')}</span>{' '}
            {h.active ? 'active' : <strong>inactive</strong>}{' '}
            <button
              type="button"
              class="small"
              aria-expanded={open === h.id}
              onClick={() => setOpen(open === h.id ? null : h.id)}
            >
              Deliveries
            </button>
            {open === h.id && <Deliveries webhookId={h.id} />}
          </li>
        ))}
      </ul>
    </div>
  )
}

function Deliveries({ webhookId }: { webhookId: string }) {
  const [status, setStatus] = useState('dead')
  const [items, setItems] = useState<Delivery[]>([])
  const [note, setNote] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api<Page<Delivery>>('GET', `/webhooks/${webhookId}/deliveries${qs({ status, limit: 100 })}`).then(
      (p) => setItems(p.items),
      (e) => setError(e.message),
    )
  }, [webhookId, status])
  const replay = async (eventId: string) => {
    try {
      const r = await api<{ queued: number }>('POST', `/webhooks/${webhookId}/replay`, { eventId })
      setNote(`Replay queued (${r.queued}).`)
    } catch (e) {
      setError((e as Error).message)
    }
  }
  return (
    <div class="deliveries">
      <label>
        Status{' '}
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          {['dead', 'retrying', 'pending', 'delivering', 'succeeded', ''].map((s) => (
            <option key={s} value={s}>
              {s === '' ? 'any' : s}
            </option>
          ))}
        </select>
      </label>
      <p aria-live="polite" class="muted">
        {note}
      </p>
      <ErrorNote error={error} />
      <table aria-label="Deliveries">
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col">Updated</th>
            <th scope="col">Replay</th>
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.id}>
              <td>
                <a href={eventHref(d.eventId)}>{d.type}</a>
              </td>
              <td>{d.status}</td>
              <td>{d.attemptCount}</td>
              <td>{d.lastStatus ?? d.lastError ?? '—'}</td>
              <td>{when(d.updatedAt)}</td>
              <td>
                <button type="button" class="small" onClick={() => void replay(d.eventId)}>
                  Replay
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && <p class="muted">No deliveries with this status.</p>}
    </div>
  )
}
