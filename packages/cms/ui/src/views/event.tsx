/** One event in full, with a "verified" badge computed in this browser from its inclusion proof and the published key. */
import { useEffect, useState } from 'preact/hooks'
import { api, type ChangeEvent } from '../api.js'
import { type Verdict, verifyEvent } from '../verify.js'
import { ActionBadge, ErrorNote, recordHref, when } from './common.js'
import { DiffView } from './diff-view.js'

export function EventDetail({ eventId }: { eventId: string }) {
  const [event, setEvent] = useState<ChangeEvent | null>(null)
  const [verdict, setVerdict] = useState<Verdict | null>(null)
  const [error, setError] = useState<string | null>(null)
  const check = (e: ChangeEvent) => {
    setVerdict(null)
    void verifyEvent(e).then(setVerdict)
  }
  useEffect(() => {
    api<ChangeEvent>('GET', `/audit/events/${encodeURIComponent(eventId)}`).then(
      (e) => {
        setEvent(e)
        check(e)
      },
      (e) => setError((e as Error).message),
    )
  }, [eventId])
  if (error) return <ErrorNote error={error} />
  if (!event) return <p class="muted">Loading…</p>
  const facts: [string, string][] = [
    ['When', `${when(event.wallTime)} (${event.wallTime})`],
    ['HLC', event.hlc],
    ['Operation', event.operation],
    ['Actor', `${event.actorId ?? '—'} (${event.actorType ?? '—'})`],
    ['Reason', event.reason ?? '—'],
    ['Request id', event.requestId ?? '—'],
    ['IP', event.ip ?? '—'],
    ['User agent', event.userAgent ?? '—'],
    ['Transaction', event.txId],
    ['Node', event.nodeId],
    ['Changed fields', event.changedFields.join(', ') || '—'],
    ['Metadata', event.metadata === null ? '—' : JSON.stringify(event.metadata)],
  ]
  return (
    <div>
      <h1 tabIndex={-1}>
        Event {event.eventId} <ActionBadge action={event.action} />
      </h1>
      <p>
        <a href={recordHref(event)}>
          Timeline of {event.table}/{event.recordId}
        </a>
      </p>
      <div class="verdict" aria-live="polite">
        {verdict === null ? (
          <span class="badge">checking proof…</span>
        ) : verdict.ok ? (
          <span class="badge verified" title="Checked in this browser">
            ✔ verified
          </span>
        ) : (
          <span class="badge unverified">not verified</span>
        )}{' '}
        {verdict?.ok === true && (
          <span class="muted">
            leaf {verdict.leafIndex} of a signed tree of {verdict.treeSize} ({verdict.checkpointTime}),
            checked here with audited/proofs
          </span>
        )}
        {verdict?.ok === false && <span class="muted">{verdict.reason}</span>}{' '}
        {verdict?.ok === false && (
          <button type="button" class="small" onClick={() => check(event)}>
            Check again
          </button>
        )}
      </div>
      <dl class="facts">
        {facts.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <h2>What this event changed</h2>
      <DiffView
        label="Old and new values"
        before={event.oldValues}
        after={event.newValues}
        beforeLabel="Old"
        afterLabel="New"
      />
      <h2>Full event</h2>
      <pre>{JSON.stringify(event, null, 2)}</pre>
    </div>
  )
}
