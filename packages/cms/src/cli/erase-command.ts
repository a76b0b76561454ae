/**
 * `erase --subject ID [--tenant T]`: erases a data subject (src/cms/subject-operations.ts)
 * as the operator (audited as actor `system`, reason "audited erase"), prints one JSON line
 * of counts. Without `--tenant` the subject must be a user's id (its tenant is the user's).
 * Exit code 0; 2 for a usage or configuration error (found before the database is opened);
 * 1 when the tenant holds nothing of the subject.
 */
import { join } from 'node:path'
import { AuditedError } from 'audited'
import { operatorCaller } from '../cms/caller.js'
import { checkSubjectId, eraseSubject } from '../cms/subject-operations.js'
import { MASTER_KEY_FILE, type PersonalDataSettings } from '../server/personal-data-key.js'
import { type CommandContext, tenantIdOf } from './commands.js'

/** The subject to erase, or a `validation` error; checked before the database is opened. */
export function prepareErase(
  o: { subject?: unknown },
  settings: PersonalDataSettings,
  hasMasterKey: boolean,
): string {
  if (o.subject === undefined || o.subject === '')
    throw new AuditedError(
      'validation',
      '--subject is required (a user id, or the id a subject field holds).',
    )
  try {
    checkSubjectId(o.subject)
  } catch (e) {
    throw new AuditedError('validation', `--subject: ${(e as Error).message}`, { cause: e })
  }
  if (!hasMasterKey)
    throw new AuditedError(
      'validation',
      `No personal-data master key: PERSONAL_DATA_KEY is unset and ${join(settings.dataDir, MASTER_KEY_FILE)} does not exist (set DATA_DIR to the server's data directory).`,
      { details: { name: 'PERSONAL_DATA_KEY' } },
    )
  return o.subject as string
}

export async function erase(c: CommandContext, subjectId: string, o: { tenant?: string }): Promise<number> {
  const tenantId = o.tenant === undefined ? await userTenant(c, subjectId) : await tenantIdOf(c.db, o.tenant)
  const caller = operatorCaller(tenantId, 'cli', 'audited erase')
  const counts = await eraseSubject(c, caller, subjectId)
  c.out.write(`${JSON.stringify({ tenantId, subjectId, ...counts })}\n`)
  return 0
}

async function userTenant(c: CommandContext, subjectId: string): Promise<string> {
  const row = await c.db.readKysely
    .selectFrom('users')
    .select(['id', 'tenant_id'])
    .where('id', '=', subjectId)
    .executeTakeFirst()
  if (row === undefined || row.id !== subjectId)
    throw new AuditedError(
      'validation',
      `--tenant is required: ${subjectId} is no user's id (name the tenant of a content subject).`,
    )
  return String(row.tenant_id)
}
