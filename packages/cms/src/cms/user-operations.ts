/**
 * Users: every write of `users` (its routes and restore) goes through these operations.
 * - A tenant admin may not change accounts that carry platform rights (403).
 * - A user may not change their own role nor delete themselves (409).
 * - Changing a user's role or password revokes that user's login sessions in the same
 *   transaction: a session must not outlive the credentials that produced it. A restore
 *   that puts back an old role is such a change.
 */

import type { AuditedDatabase, AuditedWriter } from 'audited'
import { AuditedError, decodeRow } from 'audited'
import type { Caller, CmsStore } from './caller.js'
import { recordedAs, restoring } from './caller.js'
import { ROLES, type Role, tokens, type UserRow, users } from './entities.js'
import { created, newRecordId, touched } from './records.js'
import { restoreTarget, textOf } from './restore-source.js'
import { hashPassword } from './secrets.js'

/** A tenant admin may not change accounts that carry platform rights (no privilege escalation). */
export function assertMayManage(caller: Caller, row: { platform_admin: boolean }): void {
  if (row.platform_admin && !caller.platformAdmin) {
    throw new AuditedError('forbidden', 'Only platform administrators may change a platform account.')
  }
}

/** The password rule of every path that sets one (routes, CLI, bootstrap). */
export const PASSWORD_LENGTH = { min: 8, max: 200 } as const

export function checkedPassword(password: unknown): string {
  const { min, max } = PASSWORD_LENGTH
  if (typeof password !== 'string' || password.length < min || password.length > max) {
    throw new AuditedError('validation', `A password must have ${min} to ${max} characters.`, {
      details: { fields: ['password'] },
    })
  }
  return password
}

export async function findUser(db: AuditedDatabase, tenantId: string, id: string): Promise<UserRow> {
  const raw = await db.readKysely
    .selectFrom('users')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst()
  if (raw === undefined) throw new AuditedError('not_found', 'No such record.', { details: { id } })
  return decodeRow(users, raw) as unknown as UserRow
}

/** The ids of a user's login sessions (read before the write that revokes them). */
async function sessionIds(db: AuditedDatabase, tenantId: string, userId: string): Promise<string[]> {
  const rows = await db.readKysely
    .selectFrom('tokens')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('kind', '=', 'session')
    .execute()
  return rows.map((r) => String(r.id))
}

async function revoke(tx: AuditedWriter, ids: readonly string[]): Promise<void> {
  for (const id of ids) await tx.delete(tokens, id)
}

export interface UserCreate {
  readonly email: string
  readonly password: string
  readonly role: Role
  readonly name?: string | null | undefined
}

/**
 * The stored form of a new user: e-mail lower-cased (login is by e-mail alone, unique
 * across tenants), the password hashed. Platform rights are granted only by bootstrap.
 */
export async function newUserValues(body: UserCreate, platformAdmin = false) {
  return created({
    id: newRecordId(),
    email: body.email.toLowerCase(),
    password_hash: await hashPassword(checkedPassword(body.password)),
    role: body.role,
    platform_admin: platformAdmin,
    name: body.name ?? null,
  })
}

/** A user created over the API: never with platform rights. */
export async function createUser(store: CmsStore, caller: Caller, body: UserCreate): Promise<UserRow> {
  return store.auditor.create(users, await newUserValues(body), caller.ctx)
}

export interface UserPatch {
  readonly name?: string | null | undefined
  readonly role?: Role | undefined
  readonly password?: string | undefined
}

export async function updateUser(store: CmsStore, caller: Caller, id: string, body: UserPatch) {
  const current = await findUser(store.db, caller.tenantId, id)
  const patch: Partial<UserRow> = {}
  if (body.name !== undefined) patch.name = body.name
  if (body.role !== undefined) patch.role = body.role
  if (body.password !== undefined) patch.password_hash = await hashPassword(checkedPassword(body.password))
  return writeUser(store, caller, current, patch, body.password !== undefined)
}

/**
 * The one write of an existing user: the account rules, then the row and (on a role,
 * rights or password change) the revocation of the user's sessions, one transaction.
 */
async function writeUser(
  store: CmsStore,
  caller: Caller,
  current: UserRow,
  patch: Partial<UserRow>,
  passwordChange: boolean,
): Promise<UserRow> {
  assertMayManage(caller, current)
  const roleChange = patch.role !== undefined && patch.role !== current.role
  if (roleChange && caller.userId === current.id) {
    throw new AuditedError('conflict', 'You cannot change your own role.', { details: { reason: 'self' } })
  }
  const rightsChange = patch.platform_admin !== undefined && patch.platform_admin !== current.platform_admin
  const sessions =
    roleChange || rightsChange || passwordChange
      ? await sessionIds(store.db, caller.tenantId, current.id)
      : []
  return store.auditor.transaction(caller.ctx, async (tx) => {
    const row = await tx.update(users, current.id, touched(patch), {
      expectedVersion: current.version,
      ...recordedAs(caller),
    })
    await revoke(tx, sessions)
    return row
  })
}

export async function deleteUser(store: CmsStore, caller: Caller, id: string): Promise<void> {
  const current = await findUser(store.db, caller.tenantId, id)
  assertMayManage(caller, current)
  if (caller.userId === id)
    throw new AuditedError('conflict', 'You cannot delete yourself.', { details: { reason: 'self' } })
  const sessions = await sessionIds(store.db, caller.tenantId, id)
  await store.auditor.transaction(caller.ctx, async (tx) => {
    await revoke(tx, sessions)
    await tx.delete(users, id, { expectedVersion: current.version })
  })
}

/**
 * "Restore user to event X": e-mail, name, role and platform flag become what they were,
 * under the rules of a PATCH (both the current and the restored account must be the
 * caller's to manage; an old role revokes the user's sessions). The password is redacted
 * in events and stays as it is; a deleted user therefore cannot come back (`validation`).
 */
export async function restoreUser(
  store: CmsStore,
  caller: Caller,
  id: string,
  eventId: string,
): Promise<UserRow> {
  const target = await restoreTarget(store.auditor, users, id, eventId, caller.tenantId)
  const role = textOf(target, 'role') as Role
  if (!ROLES.includes(role)) throw new AuditedError('validation', 'The event holds no valid role.')
  const platformAdmin = target.platform_admin === true
  assertMayManage(caller, { platform_admin: platformAdmin })
  const current = await findUser(store.db, caller.tenantId, id).catch((error: unknown) => {
    if (error instanceof AuditedError && error.code === 'not_found') {
      throw new AuditedError(
        'validation',
        'A deleted user cannot be restored: the password is not kept in the audit trail. Create the user again.',
        { details: { id } },
      )
    }
    throw error
  })
  assertMayManage(caller, current)
  const name = target.name
  const patch: Partial<UserRow> = {
    email: textOf(target, 'email'),
    role,
    platform_admin: platformAdmin,
    name: typeof name === 'string' ? name : null,
  }
  const changed = (Object.keys(patch) as (keyof UserRow)[]).filter((k) => patch[k] !== current[k])
  if (changed.length === 0) return current
  const only = Object.fromEntries(changed.map((k) => [k, patch[k]])) as Partial<UserRow>
  return writeUser(store, restoring(caller, eventId), current, only, false)
}
