/** The explorer's HTTP client: same origin, `Authorization: Bearer` from the session it signed in with. */

const KEY = 'audited.session'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

let token: string | null = sessionStorage.getItem(KEY)
let onSignedOut: (notice: string) => void = () => {}

export const session = {
  get token(): string | null {
    return token
  },
  set(value: string | null): void {
    token = value
    if (value === null) sessionStorage.removeItem(KEY)
    else sessionStorage.setItem(KEY, value)
  },
  /** `f` hears every sign-out, with what the sign-in screen should say. */
  onSignedOut(f: (notice: string) => void): void {
    onSignedOut = f
  },
  /** The server refused the session (expired, ended, account changed): the tab forgets it. */
  ended(message: string): void {
    token = null
    sessionStorage.removeItem(KEY)
    onSignedOut(`You were signed out: ${message}`)
  },
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (res.status === 204) return undefined as T
  const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }
  if (!res.ok) {
    if (res.status === 401 && path !== '/auth/login' && path !== '/auth/logout') {
      session.ended(json.error?.message ?? 'the session is no longer valid.')
    }
    throw new ApiError(res.status, json.error?.code ?? 'error', json.error?.message ?? res.statusText)
  }
  return json as T
}

/**
 * Signs out: the server ends the session (`POST /auth/logout`, so its token is refused from
 * then on), and the tab forgets it whatever the answer; the sign-in screen says which.
 */
export async function signOut(): Promise<void> {
  let notice = 'You are signed out.'
  try {
    if (token !== null) await api('POST', '/auth/logout')
  } catch (e) {
    // 401: the session had ended already. Anything else: the server did not end it.
    if (!(e instanceof ApiError && e.status === 401)) {
      notice = `Signed out of this tab, but the server could not end the session (${(e as Error).message}): it stays valid until it expires.`
    }
  }
  session.set(null)
  onSignedOut(notice)
}

/** A query string of the defined, non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  const s = p.toString()
  return s === '' ? '' : `?${s}`
}

export interface ChangeEvent {
  eventId: string
  hlc: string
  wallTime: string
  nodeId: string
  tenantId: string | null
  txId: string
  table: string
  recordId: string
  operation: 'INSERT' | 'UPDATE' | 'DELETE'
  action: string
  actorId: string | null
  actorType: string | null
  oldValues: Record<string, unknown> | null
  newValues: Record<string, unknown> | null
  changedFields: string[]
  requestId: string | null
  ip: string | null
  userAgent: string | null
  reason: string | null
  metadata: Record<string, unknown> | null
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
  hasMore: boolean
}

export const TABLES = [
  'entries',
  'content_types',
  'users',
  'tokens',
  'tenants',
  'locales',
  'media',
  'webhooks',
  'retention_policies',
  'legal_holds',
  'retention_runs',
] as const
export const ACTIONS = [
  'create',
  'update',
  'delete',
  'publish',
  'unpublish',
  'restore',
  'purge',
  'erase',
] as const
