/** A form for an entry's data: one simple input per field type. */
import { useEffect, useRef, useState } from 'preact/hooks'

export interface Field {
  name: string
  type: string
  required?: boolean
  unique?: boolean
  options?: string[]
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0')
/** An ISO instant as a `datetime-local` value in the browser's time zone (what the input shows
 * and what `new Date(value)` reads back), milliseconds only when there are some. */
function toLocal(iso: unknown): string {
  const d = typeof iso === 'string' && iso !== '' ? new Date(iso) : null
  if (d === null || Number.isNaN(d.getTime())) return ''
  const ms = d.getMilliseconds()
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${ms === 0 ? '' : `.${pad(ms, 3)}`}`
}

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
      return (
        <input
          {...common}
          type="datetime-local"
          // Seconds; any fraction when the stored value has milliseconds (else it could not be saved).
          step={toLocal(value).includes('.') ? 'any' : '1'}
          defaultValue={toLocal(value)}
        />
      )
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
        // The stored option is marked `selected` (a select's defaultValue sets nothing in the DOM:
        // the form showed "—" and a save erased the value).
        <select {...common}>
          <option value="">—</option>
          {(field.options ?? []).map((o) => (
            <option key={o} value={o} selected={o === value}>
              {o}
            </option>
          ))}
        </select>
      )
    default:
      return <input {...common} type="text" defaultValue={typeof value === 'string' ? value : ''} />
  }
}

function parseJson(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch (e) {
    throw new Error(`${name}: not valid JSON (${(e as Error).message}).`)
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
    else if (field.type === 'json') value = parseJson(field.name, raw)
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
  focusSubmit = false,
}: {
  fields: readonly Field[]
  data: Record<string, unknown>
  submitLabel: string
  onSubmit: (data: Record<string, unknown>) => Promise<void>
  /** Focus the submit button on mount: a saved form comes back where the keyboard left it. */
  focusSubmit?: boolean
}) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const button = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    if (focusSubmit) button.current?.focus()
  }, [])
  const submit = async (e: Event) => {
    e.preventDefault()
    if (busy) return
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
      {/* aria-disabled, not disabled: a disabled button drops the keyboard's focus to the page. */}
      <button type="submit" aria-disabled={busy} ref={button}>
        {submitLabel}
      </button>
    </form>
  )
}
