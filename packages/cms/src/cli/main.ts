#!/usr/bin/env node
/**
 * `audited <command>`: serve, migrate, token create, events, history, export, verify,
 * sessions purge, retention run, admin reset-password, erase.
 * `--help` on any command. Settings come from the environment (DATABASE_URL, …).
 */
import { parseArgs } from 'node:util'

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
  verify [--tenant T] [--against FILE|nats://HOST] [--archive DIR] [--json] [--key VERIFIER_KEY]
                                check the tenant logs against their signed checkpoints (exit 1: tampered)
  sessions purge                delete expired login sessions now (each delete audited)
  retention run [--dry-run] [--tenant T]
                                archive, then purge, events older than each tenant's retention policy
  admin reset-password --email E [--password-stdin]
                                set a user's password (generated and printed once), revoke its sessions
  erase --subject ID [--tenant T]
                                erase a data subject's personal data (history then reads "[erased]")
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
  verify: `audited verify [--tenant T] [--against FILE|nats://HOST] [--archive DIR] [--json] [--key VERIFIER_KEY] — recompute every
sealed event's leaf, rebuild each tenant's Merkle log and check it against every signed checkpoint.
  --tenant T    only that tenant's log (an id or a name)
  --against F   also against witnessed checkpoints: a witness file (CHECKPOINT_LOG, one JSON line
                each), or nats://HOST:PORT[/STREAM] for the NATS witness stream (default
                <NATS_STREAM>_CHECKPOINTS, i.e. AUDITED_CHECKPOINTS)
  --archive D   also the archived segments under D (ARCHIVE_DIR) against the log
  --json        the report as JSON on stdout
  --key K       the verifier key (<name>+<id>+<base64>); default: derived from CHECKPOINT_SIGNING_KEY
                or DATA_DIR/checkpoint-signing.key
Exit code 0 when clean, 1 with findings (one line each), 2 on a usage or configuration error.`,
  admin:
    'audited admin reset-password --email E [--password-stdin] — sets the password of the user with that e-mail (generated and printed once, or read from stdin), revokes its login sessions; audited as actor system.',
  retention: `audited retention run [--dry-run] [--tenant T] — for each tenant with a retention policy
(PUT /api/v1/retention), archive to ARCHIVE_DIR (default ./data/archive) and then purge the events
older than its keepDays: only sealed events a signed checkpoint covers, never one under a legal hold.
Manifests are signed with the checkpoint key (CHECKPOINT_SIGNING_KEY or DATA_DIR/checkpoint-signing.key).
  --dry-run     count what would be purged; write nothing (needs no key)
  --tenant T    only that tenant (an id or a name)
One JSON line per tenant on stdout, progress on stderr. Exit code 1 when an event no longer hashes to
its sealed leaf (it is kept and reported: run audited verify).`,
  erase: `audited erase --subject ID [--tenant T] — erase a data subject (GDPR): a user's e-mail, name and
password are blanked and its sessions revoked, the personal fields of the entries whose subject it is
are removed (each an audited erase event), then the subject's key is destroyed: every personal value
of the subject in history reads "[erased]", and audited verify stays clean.
  --subject ID  a user's id, or the id a content type's subject field holds (else an entry's id)
  --tenant T    the subject's tenant (an id or a name); default: the tenant of the user with that id
Needs the server's personal-data master key (PERSONAL_DATA_KEY or DATA_DIR/personal-data.key).
One JSON line of counts on stdout. Exit code 0; 1 when the tenant holds nothing of the subject;
2 on a usage or configuration error.`,
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
  'dry-run': { type: 'boolean' },
  format: { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  email: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  against: { type: 'string' },
  archive: { type: 'string' },
  json: { type: 'boolean' },
  key: { type: 'string' },
  subject: { type: 'string' },
} as const

/** The one subcommand of each command that has one. */
const SUBCOMMANDS: Record<string, string> = {
  token: 'create',
  sessions: 'purge',
  admin: 'reset-password',
  retention: 'run',
}

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
  // A command that needs a subcommand says so before any database is opened.
  const sub = SUBCOMMANDS[command]
  if (sub !== undefined && rest[0] !== sub) return usage(command)
  // Loaded only now: the help above needs neither the drivers nor the server.
  const { runCommand } = await import('./run-command.js')
  const code = await runCommand(command, rest, values)
  return code === 'usage' ? usage(command) : code
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
  async (e: unknown) => {
    const { isAuditedError } = await import('audited')
    const message = isAuditedError(e) ? e.message : e instanceof TypeError ? e.message : String(e)
    process.stderr.write(`audited: ${message}\n`)
    process.exitCode = isAuditedError(e) && e.code === 'validation' ? 2 : 1
  },
)
