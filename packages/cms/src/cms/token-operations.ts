/**
 * API tokens: every path that makes one (the route, the CLI, a new tenant's first token)
 * goes through `createApiToken`. Tokens are credentials: they are never edited, and a
 * revoked one never comes back (restore is refused; its hash is redacted in events anyway).
 */

import type { AuditedWriter } from 'audited'
import { AuditedError, decodeRow, isAuditedError } from 'audited'
import type { Caller, CmsStore } from './caller.js'
import { type Role, type TokenRow, tokens } from './entities.js'
import { newRecordId } from './records.js'
import { newApiToken } from './secrets.js'
import { assertMayManage } from './user-operations.js'

export interface TokenCreate {
  readonly name: string
  readonly role: Role
}

/**
 * A new API token of the caller's tenant; the bearer string exists only in the result,
 * the database keeps its hash. Never a platform-admin token, whoever asks. With `tx`, it
 * is written in that transaction (a new tenant and its first token commit together).
 */
export async function createApiToken(
  store: CmsStore,
  caller: Caller,
  body: TokenCreate,
  tx?: AuditedWriter,
): Promise<{ row: TokenRow; token: string }> {
  const { token, row: values } = newApiToken(newRecordId(), body.role, body.name)
  const row =
    tx === undefined
      ? await store.auditor.create(tokens, values, caller.ctx)
      : await tx.create(tokens, values)
  return { row, token }
}

export async function deleteToken(store: CmsStore, caller: Caller, id: string): Promise<void> {
  const raw = await store.db.readKysely
    .selectFrom('tokens')
    .selectAll()
    .where('tenant_id', '=', caller.tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (raw === undefined) throw new AuditedError('not_found', 'No such record.', { details: { id } })
  const current = decodeRow(tokens, raw) as unknown as TokenRow
  assertMayManage(caller, current)
  await store.auditor.delete(tokens, id, caller.ctx, { expectedVersion: current.version })
}

/** The `reason` of the delete event a sign-out writes. */
export const LOGOUT_REASON = 'logout'

/**
 * Ends the caller's own login session `sessionId` (`POST /auth/logout`): an audited delete,
 * reason "logout", so its token is refused from the next request on, by every server
 * process (each request looks its token up in the database). A session that another request
 * ended meanwhile (a concurrent sign-out, the purge) is ended already: nothing to do.
 */
export async function endSession(store: CmsStore, caller: Caller, sessionId: string): Promise<void> {
  try {
    await store.auditor.delete(tokens, sessionId, { ...caller.ctx, reason: LOGOUT_REASON })
  } catch (e) {
    if (!isAuditedError(e) || e.code !== 'not_found') throw e
  }
}

/** Tokens are not restorable: a revoked credential must stay revoked. */
export function restoreToken(): never {
  throw new AuditedError('validation', 'Tokens cannot be restored: create a new token instead.')
}
