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
let onSignedOut: () => void = () => {}

export const session = {
  get token(): string | null {
    return token
  },
  set(value: string | null): void {
    token = value
    if (value === null) sessionStorage.removeItem(KEY)
    else sessionStorage.setItem(KEY, value)
  },
  onSignedOut(f: () => void): void {
    onSignedOut = f
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
    if (res.status === 401 && path !== '/auth/login') {
      session.set(null)
      onSignedOut()
    }
    throw new ApiError(res.status, json.error?.code ?? 'error', json.error?.message ?? res.statusText)
  }
  return json as T
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
