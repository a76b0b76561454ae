/** A form for an entry's data: one simple input per field type. */
import { useState } from 'preact/hooks'

export interface Field {
  name: string
  type: string
  required?: boolean
  unique?: boolean
  options?: string[]
}

const toLocal = (iso: unknown) => (typeof iso === 'string' && iso !== '' ? iso.slice(0, 19) : '')

function Input({ field, value }: { field: Field; value: unknown }) {
  const common = { name: field.name, id: `f-${field.name}`, required: field.required === true }
  switch (field.type) {
    case 'text':
      return <textarea {...common} rows={4} defaultValue={typeof value === 'string' ? value : ''} />
    case 'number':
    case 'integer':
      return (
        <input
          {...common}
          type="number"
          step={field.type === 'integer' ? '1' : 'any'}
          defaultValue={value === undefined ? '' : String(value)}
        />
      )
    case 'boolean':
      return (
        <input name={field.name} id={`f-${field.name}`} type="checkbox" defaultChecked={value === true} />
      )
    case 'datetime':
      return <input {...common} type="datetime-local" step="1" defaultValue={toLocal(value)} />
    case 'json':
      return (
        <textarea
          {...common}
          rows={4}
          class="mono"
          defaultValue={value === undefined ? '' : JSON.stringify(value, null, 2)}
        />
      )
    case 'enum':
      return (
        <select {...common} defaultValue={typeof value === 'string' ? value : ''}>
          <option value="">—</option>
          {(field.options ?? []).map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      )
    default:
      return <input {...common} type="text" defaultValue={typeof value === 'string' ? value : ''} />
  }
}

/** The form's values as entry data; an empty optional field is `absent` (null on an edit: removes it). */
function readData(
  form: HTMLFormElement,
  fields: readonly Field[],
  absent: null | undefined,
): Record<string, unknown> {
  const f = new FormData(form)
  const data: Record<string, unknown> = {}
  for (const field of fields) {
    if (field.type === 'boolean') {
      data[field.name] = f.get(field.name) === 'on'
      continue
    }
    const raw = String(f.get(field.name) ?? '')
    let value: unknown
    if (raw === '') value = absent
    else if (field.type === 'number' || field.type === 'integer') value = Number(raw)
    else if (field.type === 'datetime') value = new Date(raw).toISOString()
    else if (field.type === 'json') value = JSON.parse(raw)
    else value = raw
    if (value !== undefined) data[field.name] = value
  }
  return data
}

export function EntryForm({
  fields,
  data,
  submitLabel,
  onSubmit,
}: {
  fields: readonly Field[]
  data: Record<string, unknown>
  submitLabel: string
  onSubmit: (data: Record<string, unknown>) => Promise<void>
}) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await onSubmit(
        readData(e.currentTarget as HTMLFormElement, fields, Object.keys(data).length > 0 ? null : undefined),
      )
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form class="entry-form" onSubmit={submit}>
      {fields.map((field) => (
        <div class="field" key={field.name}>
          <label for={`f-${field.name}`}>
            {field.name}{' '}
            <span class="muted">
              ({field.type}
              {field.required ? ', required' : ''})
            </span>
          </label>
          <Input field={field} value={data[field.name]} />
        </div>
      ))}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {submitLabel}
      </button>
    </form>
  )
}
