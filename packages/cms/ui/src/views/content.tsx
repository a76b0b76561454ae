/** Content types and entries: browse, create, edit (so a person can make history without curl). */
import { useEffect, useState } from 'preact/hooks'
import { api, type Page } from '../api.js'
import { go, href } from '../route.js'
import { ErrorNote, when } from './common.js'
import { EntryForm, type Field } from './entry-form.js'

interface ContentType {
  id: string
  key: string
  name: string
  fields: Field[]
  version: number
}
interface Entry {
  id: string
  data: Record<string, unknown>
  status: string
  version: number
  updatedAt: string
}
/** A field being defined: its options as typed (split on submit, so a comma can be typed). */
type DraftField = Field & { optionsText?: string }

const FIELD_TYPES = [
  'string',
  'text',
  'number',
  'integer',
  'boolean',
  'datetime',
  'json',
  'enum',
  'reference',
]

export function Content({ type, id }: { type: string | undefined; id: string | undefined }) {
  if (type === undefined) return <Types />
  if (id === undefined) return <Entries typeKey={type} />
  return <EditEntry typeKey={type} id={id} />
}

function Types() {
  const [types, setTypes] = useState<ContentType[]>([])
  const [fields, setFields] = useState<DraftField[]>([{ name: 'title', type: 'string', required: true }])
  const [error, setError] = useState<string | null>(null)
  const load = () =>
    api<Page<ContentType>>('GET', '/content-types?limit=200').then(
      (p) => setTypes(p.items),
      (e) => setError(e.message),
    )
  useEffect(() => void load(), [])
  const setField = (i: number, patch: Partial<DraftField>) =>
    setFields((fs) => fs.map((f, j) => (j === i ? { ...f, ...patch } : f)))
  const create = async (e: Event) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    try {
      const key = String(f.get('key'))
      await api('POST', '/content-types', { key, name: String(f.get('name')), fields: fields.map(clean) })
      go('content', key)
    } catch (err) {
      setError((err as Error).message)
    }
  }
  return (
    <div>
      <h1 tabIndex={-1}>Content types</h1>
      <ul class="cards">
        {types.map((t) => (
          <li key={t.key}>
            <a href={href('content', t.key)}>{t.name}</a> <code>{t.key}</code>{' '}
            <span class="muted">{t.fields.map((f) => `${f.name}: ${f.type}`).join(', ')}</span>{' '}
            <a href={href('record', 'content_types', t.id)} aria-label={`history of ${t.name}`}>
              history
            </a>
          </li>
        ))}
      </ul>
      {types.length === 0 && <p class="muted">No content types yet.</p>}
      <h2>New content type</h2>
      <form onSubmit={create} class="type-form">
        <label>
          Key{' '}
          <input
            name="key"
            required
            pattern="[a-z][a-z0-9_]{0,63}"
            placeholder="article"
            aria-describedby="key-rule"
            title="A lower-case letter, then lower-case letters, digits or _ (at most 64)"
          />
          <span id="key-rule" class="muted small">
            a–z first, then a–z, 0–9, _
          </span>
        </label>
        <label>
          Name <input name="name" required placeholder="Article" />
        </label>
        <fieldset>
          <legend>Fields</legend>
          {fields.map((f, i) => (
            <div class="field-row" key={i}>
              <label>
                Field {i + 1} name
                <input
                  value={f.name}
                  required
                  onInput={(e) => setField(i, { name: e.currentTarget.value })}
                />
              </label>
              <label>
                Field {i + 1} type
                <select value={f.type} onChange={(e) => setField(i, { type: e.currentTarget.value })}>
                  {FIELD_TYPES.map((t) => (
                    <option key={t}>{t}</option>
                  ))}
                </select>
              </label>
              <label class="inline">
                <input
                  type="checkbox"
                  checked={f.required === true}
                  onChange={(e) => setField(i, { required: e.currentTarget.checked })}
                />
                required
              </label>
              {f.type === 'enum' && (
                <label>
                  Field {i + 1} options (comma-separated)
                  <input
                    value={f.optionsText ?? ''}
                    required
                    placeholder="draft, published"
                    onInput={(e) => setField(i, { optionsText: e.currentTarget.value })}
                  />
                </label>
              )}
              <button
                type="button"
                class="secondary small"
                onClick={() => setFields((fs) => fs.filter((_, j) => j !== i))}
              >
                Remove field {i + 1}
              </button>
            </div>
          ))}
          <button
            type="button"
            class="secondary"
            onClick={() => setFields((fs) => [...fs, { name: '', type: 'string' }])}
          >
            Add field
          </button>
        </fieldset>
        <ErrorNote error={error} />
        <button type="submit">Create content type</button>
      </form>
    </div>
  )
}

const clean = (f: DraftField): Field => ({
  name: f.name,
  type: f.type,
  ...(f.required ? { required: true } : {}),
  ...(f.type === 'enum'
    ? {
        options: (f.optionsText ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      }
    : {}),
})

function useType(typeKey: string): [ContentType | null, string | null] {
  const [type, setType] = useState<ContentType | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api<ContentType>('GET', `/content-types/${encodeURIComponent(typeKey)}`).then(setType, (e) =>
      setError(e.message),
    )
  }, [typeKey])
  return [type, error]
}

function Entries({ typeKey }: { typeKey: string }) {
  const [type, typeError] = useType(typeKey)
  const [entries, setEntries] = useState<Entry[]>([])
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api<Page<Entry>>('GET', `/entries/${encodeURIComponent(typeKey)}?limit=200`).then(
      (p) => setEntries(p.items),
      (e) => setError(e.message),
    )
  }, [typeKey])
  return (
    <div>
      <h1 tabIndex={-1}>{type?.name ?? typeKey}: entries</h1>
      <p>
        <a href={href('content')}>All content types</a>
      </p>
      <ErrorNote error={typeError ?? error} />
      <table class="events" aria-label="Entries">
        <thead>
          <tr>
            <th scope="col">Entry</th>
            <th scope="col">Status</th>
            <th scope="col">Version</th>
            <th scope="col">Updated</th>
            <th scope="col">History</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>
                <a href={href('content', typeKey, e.id)}>{String(e.data.title ?? e.id)}</a>
              </td>
              <td>{e.status}</td>
              <td>{e.version}</td>
              <td>{when(e.updatedAt)}</td>
              <td>
                <a
                  href={href('record', 'entries', e.id)}
                  aria-label={`Timeline of ${String(e.data.title ?? e.id)}`}
                >
                  timeline
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {type && (
        <section aria-label="New entry">
          <h2>New entry</h2>
          <EntryForm
            fields={type.fields}
            data={{}}
            submitLabel="Create entry"
            onSubmit={async (data) => {
              const created = await api<Entry>('POST', `/entries/${encodeURIComponent(typeKey)}`, { data })
              go('content', typeKey, created.id)
            }}
          />
        </section>
      )}
    </div>
  )
}

function EditEntry({ typeKey, id }: { typeKey: string; id: string }) {
  const [type, typeError] = useType(typeKey)
  const [entry, setEntry] = useState<Entry | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const path = `/entries/${encodeURIComponent(typeKey)}/${encodeURIComponent(id)}`
  useEffect(() => {
    api<Entry>('GET', path).then(setEntry, (e) => setError(e.message))
  }, [path])
  const publish = async (action: 'publish' | 'unpublish') => {
    try {
      setEntry(await api<Entry>('POST', `${path}/${action}`))
    } catch (e) {
      setError((e as Error).message)
    }
  }
  return (
    <div>
      <h1 tabIndex={-1}>Edit {type?.name ?? typeKey} entry</h1>
      <p>
        <a href={href('content', typeKey)}>All {typeKey} entries</a> ·{' '}
        <a href={href('record', 'entries', id)}>Timeline of this entry</a>
      </p>
      <ErrorNote error={typeError ?? error} />
      {entry && (
        <p>
          Status <strong>{entry.status}</strong>, version{' '}
          <strong data-testid="entry-version">{entry.version}</strong>{' '}
          <button
            type="button"
            class="secondary small"
            onClick={() => void publish(entry.status === 'published' ? 'unpublish' : 'publish')}
          >
            {entry.status === 'published' ? 'Unpublish' : 'Publish'}
          </button>
        </p>
      )}
      <p aria-live="polite" class="muted">
        {saved}
      </p>
      {type && entry && (
        <EntryForm
          key={entry.version}
          fields={type.fields}
          data={entry.data}
          submitLabel="Save"
          focusSubmit={saved !== null}
          onSubmit={async (data) => {
            const next = await api<Entry>('PATCH', path, { data, version: entry.version })
            setEntry(next)
            setSaved(`Saved: version ${next.version}.`)
          }}
        />
      )}
    </div>
  )
}
