/** The tenant's retention policy (`GET, PUT /api/v1/retention`). */
import { useEffect, useState } from 'preact/hooks'
import { ApiError, api } from '../api.js'
import { ErrorNote } from './common.js'

interface Policy {
  keepDays: number
  archive?: boolean
  tables?: Record<string, { keepDays: number }>
}

/** `entries=30, users=3650`: each table's own keepDays; a malformed pair is named. */
function parseTables(text: string): Record<string, { keepDays: number }> {
  const pairs = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  return Object.fromEntries(
    pairs.map((pair) => {
      const [table = '', days = '', ...rest] = pair.split('=').map((x) => x.trim())
      if (table === '' || rest.length > 0 || !/^\d+$/.test(days)) {
        throw new Error(`Per-table keep days: "${pair}" is not table=days (days a whole number).`)
      }
      return [table, { keepDays: Number(days) }]
    }),
  )
}

export function Retention() {
  const [policy, setPolicy] = useState<Policy | null | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [note, setNote] = useState<string | null>(null)
  useEffect(() => {
    api<Policy>('GET', '/retention').then(setPolicy, (e) => {
      if (e instanceof ApiError && e.status === 404) setPolicy(null)
      else setError(e.message)
    })
  }, [])
  const save = async (e: Event) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    setNote(null)
    try {
      const tables = parseTables(String(f.get('tables') ?? ''))
      const saved = await api<Policy>('PUT', '/retention', {
        keepDays: Number(f.get('keepDays')),
        archive: f.get('archive') === 'on',
        ...(Object.keys(tables).length > 0 ? { tables } : {}),
      })
      setPolicy(saved)
      setNote('Saved.')
      setError(null)
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <div>
      <h1 tabIndex={-1}>Retention</h1>
      <p>
        {policy === null
          ? 'No policy is set: nothing is purged.'
          : policy
            ? `Events older than ${policy.keepDays} days are purged${policy.archive ? ' after archiving' : ''}.`
            : 'Loading…'}
      </p>
      {policy !== undefined && (
        <form onSubmit={save} class="inline-form" key={JSON.stringify(policy)}>
          <label>
            Keep days{' '}
            <input
              name="keepDays"
              type="number"
              min="0"
              required
              defaultValue={policy ? String(policy.keepDays) : '365'}
            />
          </label>
          <label class="inline">
            <input
              name="archive"
              type="checkbox"
              defaultChecked={policy === null || policy?.archive === true}
            />{' '}
            Archive before purging
          </label>
          <label>
            Per-table keep days (table=days, comma-separated){' '}
            <input
              name="tables"
              defaultValue={Object.entries(policy?.tables ?? {})
                .map(([t, v]) => `${t}=${v.keepDays}`)
                .join(', ')}
            />
          </label>
          <button type="submit">Save policy</button>
        </form>
      )}
      <p aria-live="polite" class="muted">
        {note}
      </p>
      <ErrorNote error={error} />
    </div>
  )
}
