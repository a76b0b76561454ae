import { AuditedError } from 'audited'
import { operatorCaller } from '../cms/caller.js'
import { generatePassword } from '../cms/secrets.js'
import { updateUser } from '../cms/user-operations.js'
import type { CommandContext } from './commands.js'

/**
 * `admin reset-password --email E [--password-stdin]`: sets a user's password (generated
 * and printed once unless read from stdin) through the user rules: its login sessions are
 * revoked in the same transaction, the change is an audited event (actor system).
 */
export async function resetPassword(
  c: CommandContext,
  o: { email?: string; 'password-stdin'?: boolean },
  stdin: () => Promise<string>,
): Promise<void> {
  if (o.email === undefined || o.email === '') throw new AuditedError('validation', '--email is required.')
  const email = o.email.toLowerCase()
  const rows = await c.db.readKysely
    .selectFrom('users')
    .select(['id', 'tenant_id', 'email'])
    .where('email', '=', email)
    .execute()
  // Only the exact (stored, lower-cased) address, as login: a collation that pads or folds
  // (MariaDB: 'a@x.test ' = 'a@x.test') must not reset another spelling's account.
  const row = rows.find((r) => r.email === email)
  if (row === undefined) throw new AuditedError('not_found', `No user with e-mail ${email}.`)
  const given = o['password-stdin'] === true ? (await stdin()).replace(/\r?\n$/, '') : undefined
  const password = given ?? generatePassword()
  const caller = operatorCaller(String(row.tenant_id), 'cli', 'audited admin reset-password')
  await updateUser(c, caller, String(row.id), { password })
  c.out.write(`Password of ${email} reset; its login sessions were revoked.\n`)
  if (given === undefined) c.out.write(`New password (shown once): ${password}\n`)
}

/** All of stdin as text (for `--password-stdin`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
