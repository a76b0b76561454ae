/** The audit explorer: sign-in, then activity, record timelines, diffs, restore, event proofs, content, webhooks, retention. */
import { render } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, session, signOut } from './api.js'
import { href, useRoute } from './route.js'
import { Activity } from './views/activity.js'
import { Content } from './views/content.js'
import { EventDetail } from './views/event.js'
import { Login } from './views/login.js'
import { Retention } from './views/retention.js'
import { Timeline } from './views/timeline.js'
import { Webhooks } from './views/webhooks.js'

interface Me {
  email: string | null
  role: string
  tenantId: string
}

const NAV: [string, string][] = [
  ['activity', 'Activity'],
  ['content', 'Content'],
  ['webhooks', 'Webhooks'],
  ['retention', 'Retention'],
]

function App() {
  const [signedIn, setSignedIn] = useState(session.token !== null)
  const [me, setMe] = useState<Me | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [leaving, setLeaving] = useState(false)
  const route = useRoute()
  const main = useRef<HTMLElement>(null)
  useEffect(
    () =>
      session.onSignedOut((text) => {
        setNotice(text)
        setMe(null)
        setLeaving(false)
        setSignedIn(false)
      }),
    [],
  )
  useEffect(() => {
    if (signedIn) api<Me>('GET', '/me').then(setMe, () => {})
  }, [signedIn])
  useEffect(() => {
    // A new screen: focus moves to its heading, for keyboard and screen-reader users.
    main.current?.querySelector('h1')?.focus()
  }, [route.join('/')])
  if (!signedIn)
    return (
      <Login
        notice={notice}
        onSignedIn={() => {
          setNotice(null)
          setSignedIn(true)
        }}
      />
    )
  const [screen = 'activity', ...rest] = route
  return (
    <div class="shell">
      <button type="button" class="skip" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">audited explorer</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([key, label]) => (
              <li key={key}>
                <a href={href(key)} aria-current={screen === key ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {me?.email ?? ''} {me ? `(${me.role}, tenant ${me.tenantId})` : ''}{' '}
          <button
            type="button"
            class="link"
            disabled={leaving}
            onClick={() => {
              setLeaving(true)
              void signOut()
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {screen === 'activity' && <Activity />}
        {screen === 'record' && <Timeline table={rest[0] ?? ''} id={rest[1] ?? ''} />}
        {screen === 'event' && <EventDetail eventId={rest[0] ?? ''} />}
        {screen === 'content' && <Content type={rest[0]} id={rest[1]} />}
        {screen === 'webhooks' && <Webhooks />}
        {screen === 'retention' && <Retention />}
      </main>
    </div>
  )
}

render(<App />, document.getElementById('app')!)
