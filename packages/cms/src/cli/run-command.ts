/**
 * Runs one CLI command after its arguments were parsed (`main.ts`): loaded only when a
 * command runs, so `audited --help` does not load the database drivers or the server.
 */
import { createAuditor, migrate, openDatabase } from 'audited'
import { CMS_MIGRATIONS } from '../cms/schema.js'
import { checkpointSettings, loadSigningKey } from '../server/checkpoint-key.js'
import { loadConfig } from '../server/config.js'
import { loadMasterKey, personalDataSettings } from '../server/personal-data-key.js'
import { retentionSettings } from '../server/retention-settings.js'
import { serve } from '../server/serve.js'
import { readStdin, resetPassword } from './admin-commands.js'
import { type CommandContext, events, exportEvents, history, sessionsPurge, tokenCreate } from './commands.js'
import { erase, prepareErase } from './erase-command.js'
import { retentionRun, verifyArchiveDir } from './retention-command.js'
import { prepareVerify, verify } from './verify-command.js'

/** The exit code (-1: keeps running until a signal), or `usage` for a bad subcommand. */
export async function runCommand(
  command: string,
  rest: readonly string[],
  values: Record<string, unknown>,
): Promise<number | 'usage'> {
  const config = loadConfig()
  if (command === 'serve') {
    await serve(config)
    return -1 // keeps running until a signal
  }
  const opts = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
  // verify: the key and the witness file are checked before any database is opened.
  const verifying =
    command === 'verify'
      ? await prepareVerify(opts, config.checkpoints ?? checkpointSettings({}), config.nats)
      : undefined
  // Read, never generated here (a key of its own would not open the server's subject keys).
  const personal = config.personalData ?? personalDataSettings({})
  const master = loadMasterKey(personal, false)
  const erasing = command === 'erase' ? prepareErase(opts, personal, master !== undefined) : undefined
  const db = await openDatabase(config.databaseUrl)
  const controller = new AbortController()
  process.once('SIGINT', () => controller.abort())
  try {
    if (command === 'migrate') {
      const applied = await migrate(db, CMS_MIGRATIONS)
      process.stdout.write(applied.length === 0 ? 'Up to date.\n' : `Applied: ${applied.join(', ')}\n`)
      return 0
    }
    const c: CommandContext = {
      db,
      auditor: createAuditor({
        db,
        durability: config.durability ?? 'full',
        ...(config.nodeId ? { nodeId: config.nodeId } : {}),
        ...(master === undefined ? {} : { personalData: { masterKey: master.masterKey } }),
      }),
      out: process.stdout,
      err: process.stderr,
      signal: controller.signal,
    }
    if (verifying !== undefined) {
      const logs = await verify(c, verifying, opts)
      // --archive DIR: the archived segments too (each checked against the log).
      if (opts.archive === undefined) return logs
      return Math.max(logs, await verifyArchiveDir(c, verifying.verifier, String(opts.archive), opts))
    }
    if (erasing !== undefined) return await erase(c, erasing, opts)
    if (command === 'token') {
      if (rest[0] !== 'create') return 'usage'
      await tokenCreate(c, opts)
    } else if (command === 'events') await events(c, opts)
    else if (command === 'history') await history(c, rest[0], rest[1], opts)
    else if (command === 'export') await exportEvents(c, opts)
    else if (command === 'admin') {
      if (rest[0] !== 'reset-password') return 'usage'
      await resetPassword(c, opts, readStdin)
    } else if (command === 'sessions') {
      if (rest[0] !== 'purge') return 'usage'
      await sessionsPurge(c)
    } else if (command === 'retention') {
      if (rest[0] !== 'run') return 'usage'
      return await retentionRun(
        c,
        opts,
        config.retention ?? retentionSettings({}),
        () => loadSigningKey(config.checkpoints ?? checkpointSettings({}), false).signer,
      )
    }
    return 0
  } finally {
    await db.close()
  }
}
