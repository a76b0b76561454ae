import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import type { Auditor } from '../audit/auditor.js'
import { type ExportFormat, exportChunks, ndjsonEvent } from '../audit/event-export.js'
import type { ListEventsQuery } from '../audit/event-queries.js'
import { CMS_ENTITIES, ROLES, type Role, tokens } from '../cms/entities.js'
import { newApiToken } from '../cms/secrets.js'
import { purgeExpiredSessions } from '../cms/sessions.js'
import { AuditedError } from '../core/errors.js'
import type { AuditedDatabase } from '../db/open-database.js'
import { newRecordId } from '../server/resource.js'

/** What every command gets: the database, the auditor, where to write. */
export interface CommandContext {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
  readonly out: NodeJS.WritableStream
  readonly err: NodeJS.WritableStream
  readonly signal: AbortSignal
}

async function tenantIdOf(db: AuditedDatabase, tenant: string | undefined): Promise<string> {
  if (tenant === undefined) throw new AuditedError('validation', '--tenant is required (an id or a name).')
  const row = await db.readKysely
    .selectFrom('tenants')
    .select('id')
    .where((eb) => eb.or([eb('id', '=', tenant), eb('name', '=', tenant)]))
    .executeTakeFirst()
  if (row === undefined) throw new AuditedError('not_found', `No tenant "${tenant}".`)
  return String(row.id)
}

/** `token create --tenant T --role R [--name N]`: prints a new API token once. */
export async function tokenCreate(c: CommandContext, o: { tenant?: string; role?: string; name?: string }) {
  if (!ROLES.includes(o.role as Role))
    throw new AuditedError('validation', `--role must be one of ${ROLES.join(', ')}.`)
  const tenantId = await tenantIdOf(c.db, o.tenant)
  const { token, row: tokenRow } = newApiToken(newRecordId(), o.role as Role, o.name ?? 'cli token')
  const row = await c.auditor.create(tokens, tokenRow, {
    tenantId,
    actorId: 'cli',
    actorType: 'system',
    reason: 'audited token create',
  })
  c.out.write(`${JSON.stringify({ id: row.id, tenantId, role: row.role, token })}\n`)
}

/** `events [filters] [--follow]`: NDJSON events in HLC order; `--follow` keeps polling. */
export async function events(
  c: CommandContext,
  o: { tenant?: string; table?: string; record?: string; actor?: string; since?: string; follow?: boolean },
) {
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
  for (;;) {
    const page = await c.auditor.events.history(entity, id, {
      limit: 1000,
      ...(tenantId === undefined ? {} : { tenantId }),
      ...(after === undefined ? {} : { after }),
    })
    for (const e of page.events) c.out.write(ndjsonEvent(e))
    if (!page.hasMore) break
    after = page.nextCursor ?? undefined
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
  const tenantId = o.tenant === undefined ? undefined : await tenantIdOf(c.db, o.tenant)
  const query: ListEventsQuery = {
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(o.from === undefined ? {} : { from: o.from }),
    ...(o.to === undefined ? {} : { to: o.to }),
    limit: 1000,
  }
  let total = await countEvents(c.db, tenantId)
  let done = 0
  const progress = () => {
    const pct = total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100))
    const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.')
    c.err.write(`\rexport [${bar}] ${pct}% ${done}/${total} events`)
  }
  const file = createWriteStream(o.out)
  const first = await c.auditor.events.list(query)
  for await (const chunk of exportChunks(c.auditor, query, first, o.format as ExportFormat, (n) => {
    done += n
    total = Math.max(total, done)
    progress()
  })) {
    if (!file.write(chunk)) await once(file, 'drain')
  }
  file.end()
  await once(file, 'finish')
  c.err.write(`\nwrote ${done} events to ${o.out}\n`)
}

async function countEvents(db: AuditedDatabase, tenantId: string | undefined): Promise<number> {
  let q = db.readKysely.selectFrom('change_events').select((eb) => eb.fn.countAll().as('n'))
  if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId)
  return Number((await q.executeTakeFirstOrThrow()).n)
}

/** `sessions purge`: deletes expired login sessions now (audited, actor system); prints the count. */
export async function sessionsPurge(c: CommandContext) {
  const purged = await purgeExpiredSessions(c.db, c.auditor, { signal: c.signal })
  c.out.write(`Purged ${purged} expired ${purged === 1 ? 'session' : 'sessions'}.\n`)
}
