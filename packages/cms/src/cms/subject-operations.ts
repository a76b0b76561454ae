/**
 * Data subjects (README "Personal data and erasure"): erasure and access requests. A
 * subject id is a user's id (their e-mail and name are personal) or whatever id the subject
 * field of a content type holds (else an entry's own id); subjects belong to a tenant.
 */
import type { AuditedDatabase, ChangeEvent } from 'audited'
import { AuditedError, decodeRow } from 'audited'
import type { Caller, CmsStore } from './caller.js'
import { entries, tokens, type UserRow, users } from './entities.js'
import { SUBJECT_ID } from './personal-fields.js'
import { touched } from './records.js'
import { assertMayManage } from './user-operations.js'

const SUBJECT_RE = new RegExp(SUBJECT_ID)

/** What an erasure did. */
export interface ErasureCounts {
  /** User accounts blanked (0 or 1). */
  readonly users: number
  /** Entries whose personal fields were removed. */
  readonly entries: number
  /** Login sessions of the user revoked. */
  readonly sessions: number
  /** Subject keys destroyed (every personal value of the subject in history now reads "[erased]"). */
  readonly keys: number
}

/** The password hash of an erased account: no password ever matches it. */
export const ERASED_PASSWORD_HASH = '!erased'

/** The e-mail an erased account keeps (the column is required and unique; this one is
 * derived from the id alone, and `.invalid` is never delivered, RFC 2606). */
export const erasedEmail = (userId: string) => `erased-${userId.toLowerCase()}@erased.invalid`

export function checkSubjectId(id: unknown): string {
  if (typeof id !== 'string' || !SUBJECT_RE.test(id))
    throw new AuditedError(
      'validation',
      'A subject id is 1 to 255 characters: letters, digits and . _ : @ - (not first).',
      { details: { fields: ['id'] } },
    )
  return id
}

async function findUser(db: AuditedDatabase, tenantId: string, id: string): Promise<UserRow | undefined> {
  const raw = await db.readKysely
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  return raw === undefined || raw.id !== id ? undefined : (decodeRow(users, raw) as unknown as UserRow)
}

/**
 * Erases subject `id` of the caller's tenant. A user: e-mail replaced by `erasedEmail`,
 * name null, password unusable, every login session revoked (one transaction, action
 * `erase`); entries whose subject it is: their personal fields removed (action `erase`
 * each); then the subject's keys are destroyed. `not_found` when the tenant holds nothing
 * of the subject (no user, no key, no entry). Idempotent: run it again after a failure.
 */
export async function eraseSubject(store: CmsStore, caller: Caller, id: string): Promise<ErasureCounts> {
  checkSubjectId(id)
  const user = await findUser(store.db, caller.tenantId, id)
  let sessions = 0
  let erasedUsers = 0
  if (user !== undefined) {
    assertMayManage(caller, user)
    if (caller.userId === user.id)
      throw new AuditedError('conflict', 'You cannot erase yourself.', { details: { reason: 'self' } })
    const own = await store.db.readKysely
      .selectFrom('tokens')
      .select('id')
      .where('tenant_id', '=', caller.tenantId)
      .where('user_id', '=', user.id)
      .execute()
    const blank = { email: erasedEmail(user.id), name: null, password_hash: ERASED_PASSWORD_HASH }
    const changes =
      user.email !== blank.email || user.name !== null || user.password_hash !== blank.password_hash
    await store.auditor.transaction(caller.ctx, async (tx) => {
      for (const token of own) await tx.delete(tokens, String(token.id))
      if (changes)
        await tx.update(users, user.id, touched(blank), { action: 'erase', expectedVersion: user.version })
    })
    sessions = own.length
    erasedUsers = changes ? 1 : 0
  }
  // Entries first: their erase events' old values are still encrypted under the keys destroyed last.
  const result = await store.auditor.privacy.erase(id, [entries], caller.ctx)
  if (user === undefined && result.rows === 0 && result.keys === 0)
    throw new AuditedError('not_found', 'Nothing is stored about this subject.', { details: { id } })
  return { users: erasedUsers, entries: result.rows, sessions, keys: result.keys }
}

/**
 * Every event of the caller's tenant holding a personal value of subject `id`, decrypted
 * (an access request). After an erasure there are none left to find (the keys that marked
 * them are gone). `not_found` when the tenant holds nothing of the subject.
 */
export async function exportSubject(store: CmsStore, caller: Caller, id: string): Promise<ChangeEvent[]> {
  checkSubjectId(id)
  const events = await store.auditor.privacy.export(caller.tenantId, id)
  if (events.length === 0 && (await findUser(store.db, caller.tenantId, id)) === undefined)
    throw new AuditedError('not_found', 'Nothing is stored about this subject.', { details: { id } })
  return events
}
