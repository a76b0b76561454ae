/** A difference of two record states as a table: path, before, after; word-level for long texts; masked values as badges. */
import { useState } from 'preact/hooks'
import { type Change, changesOnly, diffValues, shown } from '../diff.js'

function Value({ value, marker }: { value: unknown; marker: string | undefined }) {
  if (marker !== undefined) return <span class={`badge masked-${marker}`}>{marker}</span>
  return <code>{shown(value)}</code>
}

function Words({ change, side }: { change: Change; side: 'before' | 'after' }) {
  return (
    <span class="words">
      {change.words!.map((w, i) =>
        w.op === 'same' ? (
          <span key={i}>{w.text}</span>
        ) : w.op === 'del' && side === 'before' ? (
          <del key={i}>{w.text}</del>
        ) : w.op === 'add' && side === 'after' ? (
          <ins key={i}>{w.text}</ins>
        ) : null,
      )}
    </span>
  )
}

export function DiffView({
  before,
  after,
  label,
  beforeLabel = 'Before',
  afterLabel = 'After',
}: {
  before: unknown
  after: unknown
  label: string
  beforeLabel?: string
  afterLabel?: string
}) {
  const [onlyChanged, setOnlyChanged] = useState(true)
  const all = diffValues(before, after)
  const changes = onlyChanged ? changesOnly(all) : all
  return (
    <section class="diff" aria-label={label}>
      <label class="inline">
        <input
          type="checkbox"
          checked={onlyChanged}
          onChange={(e) => setOnlyChanged(e.currentTarget.checked)}
        />
        Changed fields only
      </label>
      <span class="muted">
        {' '}
        {changesOnly(all).length} of {all.length} fields differ
      </span>
      <table>
        <caption class="sr-only">{label}</caption>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">{beforeLabel}</th>
            <th scope="col">{afterLabel}</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((c) => (
            <tr key={c.path} class={`kind-${c.kind}`} data-path={c.path}>
              <th scope="row">
                <code>{c.path || '(record)'}</code> <span class="muted">{c.kind}</span>
              </th>
              <td>
                {c.words ? (
                  <Words change={c} side="before" />
                ) : (
                  <Value value={c.before} marker={c.beforeMarker} />
                )}
              </td>
              <td>
                {c.words ? (
                  <Words change={c} side="after" />
                ) : (
                  <Value value={c.after} marker={c.afterMarker} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {changes.length === 0 && <p class="muted">No differences.</p>}
    </section>
  )
}
