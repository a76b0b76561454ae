#!/usr/bin/env node
/**
 * `audited <command>`: serve, migrate, token create, events, history, export, sessions purge,
 * admin reset-password.
 * `--help` on any command. Settings come from the environment (DATABASE_URL, …).
 */
import { parseArgs } from 'node:util'
import { createAuditor, isAuditedError, migrate, openDatabase } from 'audited'
import { CMS_MIGRATIONS } from '../cms/schema.js'
import { loadConfig } from '../server/config.js'
import { serve } from '../server/serve.js'
import { readStdin, resetPassword } from './admin-commands.js'
import { type CommandContext, events, exportEvents, history, sessionsPurge, tokenCreate } from './commands.js'

const HELP: Record<string, string> = {
  '': `audited <command> [--help]

Commands:
  serve                         start the headless-CMS API (HOST, PORT, DATABASE_URL, … — see README)
  migrate                       bring DATABASE_URL to the newest schema and exit
  token create --tenant T --role R [--name N]
                                create an API token (printed once)
  events [--tenant T] [--table X] [--record ID (with --table)] [--actor A] [--since ISO] [--follow]
                                print change events as NDJSON, in HLC order
  history <table> <id> [--tenant T]
                                print one record's events, oldest first
  export --format ndjson|csv --out FILE [--from ISO] [--to ISO] [--tenant T]
                                write events to a file, with a progress bar
  sessions purge                delete expired login sessions now (each delete audited)
  admin reset-password --email E [--password-stdin]
                                set a user's password (generated and printed once), revoke its sessions
`,
  serve: `audited serve — start the API on HOST:PORT (default 127.0.0.1:8080) over DATABASE_URL
(default sqlite:./data/audited.db, created and migrated on first start).`,
  migrate: 'audited migrate — apply pending migrations to DATABASE_URL and print what was applied.',
  token:
    'audited token create --tenant <id|name> --role admin|editor|viewer|auditor [--name N] — prints the token once.',
  events:
    'audited events [--tenant T] [--table X] [--record ID (with --table)] [--actor A] [--since ISO] [--follow] — NDJSON, HLC order; --follow polls every second (Ctrl-C stops).',
  history: 'audited history <table> <id> [--tenant T] — the record’s events, oldest first, as NDJSON.',
  export:
    'audited export --format ndjson|csv --out FILE [--from ISO] [--to ISO] [--tenant T] — progress on stderr.',
  admin:
    'audited admin reset-password --email E [--password-stdin] — sets the password of the user with that e-mail (generated and printed once, or read from stdin), revokes its login sessions; audited as actor system.',
  sessions:
    'audited sessions purge — delete every expired login session now, in batches, each delete an audited event (actor system, reason "session expired"); prints the count. The server also does this every SESSION_PURGE_INTERVAL_MS.',
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  tenant: { type: 'string' },
  role: { type: 'string' },
  name: { type: 'string' },
  table: { type: 'string' },
  record: { type: 'string' },
  actor: { type: 'string' },
  since: { type: 'string' },
  follow: { type: 'boolean' },
  format: { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  email: { type: 'string' },
  'password-stdin': { type: 'boolean' },
} as const

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  })
  const [command = '', ...rest] = positionals
  if (command === '' || command === 'help') return print(HELP[''])
  if (!Object.hasOwn(HELP, command)) {
    process.stderr.write(`Unknown command "${command}".\n\n${HELP['']}`)
    return 2
  }
  if (values.help === true) return print(HELP[command])
  const config = loadConfig()
  if (command === 'serve') {
    await serve(config)
    return -1 // keeps running until a signal
  }
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
      // The CLI is another process next to a running server: it waits out the settle window.
      auditor: createAuditor({
        db,
        settleMs: config.settleMs ?? 6000,
        ...(config.nodeId ? { nodeId: config.nodeId } : {}),
      }),
      out: process.stdout,
      err: process.stderr,
      signal: controller.signal,
    }
    const opts = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
    if (command === 'token') {
      if (rest[0] !== 'create') return usage('token')
      await tokenCreate(c, opts)
    } else if (command === 'events') await events(c, opts)
    else if (command === 'history') await history(c, rest[0], rest[1], opts)
    else if (command === 'export') await exportEvents(c, opts)
    else if (command === 'admin') {
      if (rest[0] !== 'reset-password') return usage('admin')
      await resetPassword(c, opts, readStdin)
    } else if (command === 'sessions') {
      if (rest[0] !== 'purge') return usage('sessions')
      await sessionsPurge(c)
    }
    return 0
  } finally {
    await db.close()
  }
}

function usage(command: string): number {
  process.stderr.write(`${HELP[command]}\n`)
  return 2
}

function print(text: string | undefined): number {
  process.stdout.write(`${text ?? ''}\n`)
  return 0
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (e: unknown) => {
    const message = isAuditedError(e) ? e.message : e instanceof TypeError ? e.message : String(e)
    process.stderr.write(`audited: ${message}\n`)
    process.exitCode = isAuditedError(e) && e.code === 'validation' ? 2 : 1
  },
)
