/** Fixtures of the content API tests: the article type, row counts, role tokens. */
import assert from 'node:assert/strict'
import { apiToken, type HttpFixture } from './http-setup.js'

/** Rows that a refused write must leave untouched. */
export async function counts(f: HttpFixture): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['change_events', 'entries', 'entry_unique_values', 'content_types']) {
    const row = await f.db.readKysely
      .selectFrom(table)
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow()
    out[table] = Number(row.n)
  }
  return out
}

export const ARTICLE = {
  key: 'article',
  name: 'Article',
  fields: [
    { name: 'title', type: 'string', required: true },
    { name: 'slug', type: 'string', unique: true },
    { name: 'body', type: 'text' },
    { name: 'views', type: 'integer' },
    { name: 'rating', type: 'number' },
    { name: 'featured', type: 'boolean' },
    { name: 'publishedOn', type: 'datetime' },
    { name: 'meta', type: 'json' },
    { name: 'category', type: 'enum', options: ['news', 'opinion'] },
    { name: 'related', type: 'reference' },
  ],
}

/** Tokens of the three non-admin roles, and the article type created. */
export async function contentSetup(
  f: HttpFixture,
): Promise<{ viewer: string; editor: string; auditorRole: string }> {
  const viewer = await apiToken(f, f.tenantId, 'viewer')
  const editor = await apiToken(f, f.tenantId, 'editor')
  const auditorRole = await apiToken(f, f.tenantId, 'auditor')
  const created = await f.call('POST', '/api/v1/content-types', { body: ARTICLE })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  return { viewer, editor, auditorRole }
}
