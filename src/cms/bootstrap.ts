import type { Auditor } from '../audit/auditor.js'
import type { AuditContext } from '../core/audit-context.js'
import { createIdFactory } from '../core/ids.js'
import type { AuditedDatabase } from '../db/open-database.js'
import { tenants, users } from './entities.js'
import { generatePassword, hashPassword } from './secrets.js'

export interface BootstrapResult {
  readonly tenantId: string
  readonly adminEmail: string
  /** Set only when the password was generated: shown once, never stored in clear. */
  readonly generatedPassword: string | undefined
}

/**
 * On an empty database: creates tenant `default` and a platform admin, both audited as
 * the `system` actor. Returns undefined when a tenant already exists.
 */
export async function bootstrap(
  db: AuditedDatabase,
  auditor: Auditor,
  admin: { email?: string | undefined; password?: string | undefined } = {},
): Promise<BootstrapResult | undefined> {
  const existing = await db.readKysely.selectFrom('tenants').select('id').limit(1).executeTakeFirst()
  if (existing !== undefined) return undefined
  const nextId = createIdFactory()
  const tenantId = nextId()
  const email = (admin.email ?? 'admin@localhost').toLowerCase()
  const generatedPassword = admin.password === undefined ? generatePassword() : undefined
  const passwordHash = await hashPassword(admin.password ?? (generatedPassword as string))
  const ctx: AuditContext = { tenantId, actorId: 'system', actorType: 'system', reason: 'first start' }
  const now = new Date()
  await auditor.transaction(ctx, async (tx) => {
    await tx.create(tenants, {
      id: tenantId,
      name: 'default',
      limits: null,
      created_at: now,
      updated_at: now,
    })
    await tx.create(users, {
      id: nextId(),
      email,
      password_hash: passwordHash,
      role: 'admin',
      platform_admin: true,
      name: 'Administrator',
      created_at: now,
      updated_at: now,
    })
  })
  return { tenantId, adminEmail: email, generatedPassword }
}
