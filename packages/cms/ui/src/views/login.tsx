import { useState } from 'preact/hooks'
import { api, session } from '../api.js'

export function Login({ notice, onSignedIn }: { notice: string | null; onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(null)
    try {
      const { token } = await api<{ token: string }>('POST', '/auth/login', {
        email: String(form.get('email')),
        password: String(form.get('password')),
      })
      session.set(token)
      onSignedIn()
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <main class="login" id="main">
      <h1>Sign in to the audit explorer</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <p>Use the CMS account the server printed on its first start.</p>
      <form onSubmit={submit}>
        <label class="stack">
          E-mail
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label class="stack">
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  )
}
