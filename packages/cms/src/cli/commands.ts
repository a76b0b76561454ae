import { once } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { AuditedDatabase, Auditor } from 'audited'
import { AuditedError, exportChunks, isAuditedError, type ListEventsQuery, ndjsonEvent, toHlc } from 'audited'
import { CompiledQuery } from 'kysely'
import { systemCaller } from '../cms/caller.js'
import { CMS_ENTITIES, ROLES, type Role } from '../cms/entities.js'
import { purgeExpiredSessions } from '../cms/sessions.js'
import { createApiToken } from '../cms/token-operations.js'

/** What every command gets: the database, the auditor, where to write. */
export interface CommandContext {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
  readonly out: NodeJS.WritableStream
  readonly err: NodeJS.WritableStream
  readonly signal: AbortSignal
}

export async function tenantIdOf(db: AuditedDatabase, tenant: string | undefined): Promise<string> {
  if (tenant === undefined) throw new AuditedError('validation', '--tenant is required (an id or a name).')
  let row: { id: unknown } | undefined
  try {
    const rows = await db.readKysely
      .selectFrom('tenants')
      .select(['id', 'name'])
      .where((eb) => eb.or([eb('id', '=', tenant), eb('name', '=', tenant)]))
      .execute()
    // Only the exact id or name: MariaDB's collations pad (and by default fold) text, so
    // 'default ' would otherwise name tenant 'default'.
    row = rows.find((r) => r.id === tenant || r.name === tenant)
  } catch (e) {
    if (await hasTable(db, 'tenants')) throw e
    throw new AuditedError(
      'validation',
      '--tenant needs the CMS tables, and this database has none (a library-only database): leave out --tenant, or run `audited migrate` first.',
      { cause: e },
    )
  }
  if (row === undefined) throw new AuditedError('not_found', `No tenant "${tenant}".`)
  return String(row.id)
}

async function hasTable(db: AuditedDatabase, table: string): Promise<boolean> {
  const { rows } = await db.readKysely.executeQuery(CompiledQuery.raw(db.capabilities.columnsSql, [table]))
  return rows.length > 0
}

/** `token create --tenant T --role R [--name N]`: prints a new API token once. */
export async function tokenCreate(c: CommandContext, o: { tenant?: string; role?: string; name?: string }) {
  if (!ROLES.includes(o.role as Role))
    throw new AuditedError('validation', `--role must be one of ${ROLES.join(', ')}.`)
  const tenantId = await tenantIdOf(c.db, o.tenant)
  const caller = systemCaller(tenantId, 'cli', 'audited token create')
  const { row, token } = await createApiToken(c, caller, {
    name: o.name ?? 'cli token',
    role: o.role as Role,
  })
  c.out.write(`${JSON.stringify({ id: row.id, tenantId, role: row.role, token })}\n`)
}

/** `events [filters] [--follow]`: NDJSON events in HLC order; `--follow` keeps polling. */
export async function events(
  c: CommandContext,
  o: { tenant?: string; table?: string; record?: string; actor?: string; since?: string; follow?: boolean },
) {
  if (o.since !== undefined) pointOption(o.since, 'start', '--since')
  const tenantId = o.tenant === undefined ? undefined : await tenantIdOf(c.db, o.tenant)
  const query: ListEventsQuery = {
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(o.table === undefined ? {} : { table: o.table }),
    ...(o.record === undefined ? {} : { recordId: o.record }),
    ...(o.actor === undefined ? {} : { actorId: o.actor }),
    ...(o.since === undefined ? {} : { from: o.since }),
    limit: 1000,
  }
  let after: string | undefined
  for (;;) {
    const page = await c.auditor.events.list({ ...query, ...(after === undefined ? {} : { after }) })
    for (const e of page.events) c.out.write(ndjsonEvent(e))
    after = page.nextCursor ?? after
    if (page.hasMore) continue
    if (o.follow !== true || c.signal.aborted) return
    await new Promise((resolve) => setTimeout(resolve, 1000))
    if (c.signal.aborted) return
  }
}

/** `history <table> <id> [--tenant T]`: a record's events, oldest first. */
export async function history(
  c: CommandContext,
  table: string | undefined,
  id: string | undefined,
  o: { tenant?: string },
) {
  const entity = table === undefined ? undefined : CMS_ENTITIES[table as keyof typeof CMS_ENTITIES]
  if (entity === undefined || !Object.hasOwn(CMS_ENTITIES, table as string)) {
    throw new AuditedError(
      'validation',
      `history <table> <id>: table is one of ${Object.keys(CMS_ENTITIES).join(', ')}.`,
    )
  }
  if (id === undefined) throw new AuditedError('validation', 'history <table> <id>: the id is missing.')
  const tenantId = o.tenant === undefined ? undefined : await tenantIdOf(c.db, o.tenant)
  // Page by page: a record's history is unbounded.
  let after: string | undefined
  let seen = 0
  for (;;) {
    const page = await c.auditor.events.history(entity, id, {
      limit: 1000,
      ...(tenantId === undefined ? {} : { tenantId }),
      ...(after === undefined ? {} : { after }),
    })
    for (const e of page.events) c.out.write(ndjsonEvent(e))
    seen += page.events.length
    if (!page.hasMore) break
    after = page.nextCursor ?? undefined
  }
  if (seen === 0) {
    throw new AuditedError(
      'not_found',
      `No events for ${table} ${id}${o.tenant === undefined ? '' : ` in tenant ${o.tenant}`}.`,
    )
  }
}

/** `export --format ndjson|csv --out FILE [--from --to --tenant]`, with a progress line. */
export async function exportEvents(
  c: CommandContext,
  o: { format?: string; out?: string; from?: string; to?: string; tenant?: string },
) {
  if (o.format !== 'ndjson' && o.format !== 'csv')
    throw new AuditedError('validation', '--format must be ndjson or csv.')
  if (o.out === undefined) throw new AuditedError('validation', '--out FILE is required.')
  const range = {
    from: o.from === undefined ? undefined : pointOption(o.from, 'start', '--from'),
    to: o.to === undefined ? undefined : pointOption(o.to, 'end', '--to'),
  }
  const tenantId = o.tenant === undefined ? undefined : await tenantIdOf(c.db, o.tenant)
  const query: ListEventsQuery = {
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(o.from === undefined ? {} : { from: o.from }),
    ...(o.to === undefined ? {} : { to: o.to }),
    limit: 1000,
  }
  // The destination first: a missing directory is an error before any work or progress.
  const file = await openDestination(o.out)
  let total = await countEvents(c.db, tenantId, range)
  let done = 0
  let drawn = false
  const progress = () => {
    drawn = true
    const pct = total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100))
    const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.')
    c.err.write(`\rexport [${bar}] ${pct}% ${done}/${total} events`)
  }
  try {
    const first = await c.auditor.events.list(query)
    const chunks = exportChunks(c.auditor, query, first, o.format, (n) => {
      done += n
      total = Math.max(total, done)
      progress()
    })
    // pipeline: backpressure, and a write error (disk full) rejects here instead of
    // surfacing as an unhandled 'error' event.
    await pipeline(Readable.from(chunks, { objectMode: false }), file)
  } catch (e) {
    file.destroy()
    if (drawn) c.err.write('\n') // the error goes on a line of its own
    if (isAuditedError(e)) throw e
    throw new AuditedError('unavailable', `Writing ${o.out} failed: ${(e as Error).message}`, {
      details: { reason: 'output_failed' },
      cause: e,
    })
  }
  // Events committed meanwhile may have raised the count; what was written is the total.
  total = done
  progress()
  c.err.write(`\nwrote ${done} events to ${o.out}\n`)
}

/** Opens `path` for writing, or a `validation` error saying why it cannot be. */
async function openDestination(path: string): Promise<WriteStream> {
  const file = createWriteStream(path)
  try {
    await once(file, 'open')
    return file
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'the directory does not exist'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : (e as Error).message
    throw new AuditedError('validation', `Cannot write --out ${path}: ${why}.`, { cause: e })
  }
}

/** A CLI date option as an HLC bound; the error names the option the user typed. */
function pointOption(value: string, edge: 'start' | 'end', option: string): bigint {
  try {
    return toHlc(value, edge, option)
  } catch (e) {
    if (!isAuditedError(e) || e.code !== 'validation') throw e
    throw new AuditedError(
      'validation',
      `${option} must be an ISO date (2024-05-01 or 2024-05-01T12:00:00Z) or an HLC, not "${value}".`,
      { details: { option } },
    )
  }
}

/** How many events the export will write (for the progress bar): the same filters. */
async function countEvents(
  db: AuditedDatabase,
  tenantId: string | undefined,
  range: { from: bigint | undefined; to: bigint | undefined },
): Promise<number> {
  const big = (v: bigint) => db.capabilities.bigintParameter(v) as number
  let q = db.readKysely.selectFrom('change_events').select((eb) => eb.fn.countAll().as('n'))
  if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId)
  if (range.from !== undefined) q = q.where('hlc', '>=', big(range.from))
  if (range.to !== undefined) q = q.where('hlc', '<=', big(range.to))
  return Number((await q.executeTakeFirstOrThrow()).n)
}

/** `sessions purge`: deletes expired login sessions now (audited, actor system); prints the count. */
export async function sessionsPurge(c: CommandContext) {
  const purged = await purgeExpiredSessions(c.db, c.auditor, { signal: c.signal })
  c.out.write(`Purged ${purged} expired ${purged === 1 ? 'session' : 'sessions'}.\n`)
}
