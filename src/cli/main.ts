#!/usr/bin/env node
/**
 * `audited <command>`: serve, migrate. `--help` on any command.
 */
import { CMS_MIGRATIONS } from '../cms/schema.js'
import { isAuditedError } from '../core/errors.js'
import { migrate } from '../db/migrations.js'
import { openDatabase } from '../db/open-database.js'
import { loadConfig } from '../server/config.js'
import { serve } from '../server/serve.js'

const HELP: Record<string, string> = {
  '': `audited <command> [--help]

Commands:
  serve     start the headless-CMS API (HOST, PORT, DATABASE_URL, … — see README)
  migrate   bring DATABASE_URL to the newest schema and exit
`,
  serve: `audited serve — start the API on HOST:PORT (default 127.0.0.1:8080) over DATABASE_URL
(default sqlite:./data/audited.db, created and migrated on first start).`,
  migrate: 'audited migrate — apply pending migrations to DATABASE_URL and print what was applied.',
}

async function main(argv: string[]): Promise<number> {
  const [command = '', ...rest] = argv
  if (command === '--help' || command === '-h' || command === 'help') return print(HELP[''])
  if (!(command in HELP) || command === '') {
    process.stderr.write(`Unknown command "${command}".\n\n${HELP['']}`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) return print(HELP[command])
  const config = loadConfig()
  if (command === 'serve') {
    await serve(config)
    return -1 // keep running
  }
  const db = await openDatabase(config.databaseUrl)
  try {
    const applied = await migrate(db, CMS_MIGRATIONS)
    process.stdout.write(applied.length === 0 ? 'Up to date.\n' : `Applied: ${applied.join(', ')}\n`)
  } finally {
    await db.close()
  }
  return 0
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
    process.stderr.write(`audited: ${isAuditedError(e) ? e.message : String(e)}\n`)
    process.exitCode = 1
  },
)
