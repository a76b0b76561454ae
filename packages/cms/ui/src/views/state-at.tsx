/** The record as it was at a date and time, or at an event (`GET /audit/state?at=ISO|hlc`). */
import { useEffect, useState } from 'preact/hooks'
import { api, qs } from '../api.js'
import { ErrorNote } from './common.js'

export function StateAt({
  table,
  id,
  at,
  onAt,
  label,
}: {
  table: string
  id: string
  at: string
  onAt: (at: string) => void
  /** How to name an event's HLC (its version), when known. */
  label?: (hlc: string) => string | undefined
}) {
  const [state, setState] = useState<{ at: string; state: unknown } | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    if (at === '') return
    setError(null)
    api<{ state: unknown }>(
      'GET',
      `/audit/state/${encodeURIComponent(table)}/${encodeURIComponent(id)}${qs({ at })}`,
    ).then(
      (r) => setState({ at, state: r.state }),
      (e) => setError((e as Error).message),
    )
  }, [at, table, id])
  const submit = (e: Event) => {
    e.preventDefault()
    const v = String(new FormData(e.currentTarget as HTMLFormElement).get('at') ?? '')
    if (v !== '') onAt(new Date(v).toISOString())
  }
  return (
    <section aria-label="State at a time">
      <h2>State at a time</h2>
      <form class="inline-form" onSubmit={submit}>
        <label>
          Date and time
          <input name="at" type="datetime-local" step="1" required />
        </label>
        <button type="submit">Show state</button>
        <span class="muted"> or press “State” on a version.</span>
      </form>
      <ErrorNote error={error} />
      {state && state.at === at && (
        <div class="state" data-at={at}>
          <p>
            As of{' '}
            <code>
              {/^\d+$/.test(at)
                ? (label?.(at) ?? `event HLC ${at}`)
                : new Date(at).toLocaleString(undefined, { hour12: false })}
            </code>
            : {state.state === null ? <strong>the record did not exist.</strong> : null}
          </p>
          {state.state !== null && <pre>{JSON.stringify(state.state, null, 2)}</pre>}
        </div>
      )}
    </section>
  )
}
