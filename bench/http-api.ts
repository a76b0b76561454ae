/** The bench's set-up calls to the CMS API (admin login, API token, content type) and the entry body it creates. */
import { BENCH_ADMIN } from './http-server.js'

// ------------------------------------------------------------------------- set-up calls

export async function api(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  token: string | null,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** Logs the bench admin in, makes an admin API token and the `article` content type. */
export async function prepareApi(url: string): Promise<string> {
  const login = await api(url, 'POST', '/api/v1/auth/login', null, BENCH_ADMIN)
  const session = String(login.token)
  const token = await api(url, 'POST', '/api/v1/tokens', session, { name: 'bench', role: 'admin' })
  const apiToken = String(token.token)
  await api(url, 'POST', '/api/v1/content-types', apiToken, {
    key: 'article',
    name: 'Article',
    fields: [
      { name: 'title', type: 'string', required: true },
      { name: 'body', type: 'text' },
      { name: 'views', type: 'integer' },
      { name: 'tags', type: 'json' },
      { name: 'publishedOn', type: 'datetime' },
    ],
  })
  return apiToken
}

export const ENTRY_BODY = JSON.stringify({
  data: {
    title: 'Benchmarking an audited headless CMS',
    body: 'Every write goes through the auditor: the row and its change event commit together. '.repeat(3),
    views: 42,
    tags: ['bench', 'audit'],
    publishedOn: '2025-01-15T10:00:00Z',
  },
  locale: 'en',
})
