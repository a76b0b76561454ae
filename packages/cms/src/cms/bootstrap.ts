import type { AuditContext, AuditedDatabase, Auditor } from 'audited'
import { isAuditedError } from 'audited'
import { tenants, users } from './entities.js'
import { newRecordId } from './records.js'
import { generatePassword } from './secrets.js'
import { newTenantValues } from './tenant-operations.js'
import { newUserValues } from './user-operations.js'

export interface BootstrapResult {
  readonly tenantId: string
  readonly adminEmail: string
  /** Set only when the password was generated: shown once, never stored in clear. */
  readonly generatedPassword: string | undefined
}

const anyTenant = (db: AuditedDatabase) =>
  db.readKysely.selectFrom('tenants').select('id').limit(1).executeTakeFirst()

/**
 * On an empty database: creates tenant `default` and a platform admin, both audited as
 * the `system` actor, in one transaction. Returns undefined when a tenant already exists —
 * also when another process bootstrapped the same database at the same moment: its
 * transaction won the unique `name` / `email`, this one rolled back, and the winner's
 * tenant and admin are the ones to use (two servers starting together both come up).
 */
export async function bootstrap(
  db: AuditedDatabase,
  auditor: Auditor,
  admin: { email?: string | undefined; password?: string | undefined } = {},
): Promise<BootstrapResult | undefined> {
  if ((await anyTenant(db)) !== undefined) return undefined
  const tenantId = newRecordId()
  const generatedPassword = admin.password === undefined ? generatePassword() : undefined
  const user = await newUserValues(
    {
      email: admin.email ?? 'admin@localhost',
      password: admin.password ?? (generatedPassword as string),
      role: 'admin',
      name: 'Administrator',
    },
    true,
  )
  const ctx: AuditContext = { tenantId, actorId: 'system', actorType: 'system', reason: 'first start' }
  try {
    await auditor.transaction(ctx, async (tx) => {
      await tx.create(tenants, newTenantValues(tenantId, 'default'))
      await tx.create(users, user)
    })
  } catch (error) {
    if (isAuditedError(error) && error.code === 'conflict' && (await anyTenant(db)) !== undefined)
      return undefined
    throw error
  }
  return { tenantId, adminEmail: user.email, generatedPassword }
}
