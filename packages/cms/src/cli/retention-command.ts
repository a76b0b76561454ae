/**
 * `retention run [--dry-run] [--tenant T]`: one retention run now (src/cms/retention-run.ts),
 * one JSON line per tenant with a policy on stdout, progress on stderr. Exit code 0; 1 when
 * an event was refused (it no longer hashes to its sealed leaf: run `audited verify`).
 * `verifyArchiveDir` is the check of an archive directory (`audited verify --archive DIR`).
 */
import {
  type ArchiveFinding,
  generateSigningKey,
  type NoteSigner,
  signerFromKey,
  type Verifier,
  verifyArchive,
} from 'audited'
import { runRetention, type TenantRetention } from '../cms/retention-run.js'
import type { RetentionSettings } from '../server/retention-settings.js'
import { type CommandContext, tenantIdOf } from './commands.js'

/** On a terminal a line redrawn in place; otherwise a line every 2 s. */
function progressLine(err: NodeJS.WritableStream, label: string) {
  const tty = (err as { isTTY?: boolean }).isTTY === true
  let last = 0
  let drawn = false
  return {
    update(text: string, force = false) {
      if (tty) {
        err.write(`\r${label}: ${text}\u001b[K`)
        drawn = true
      } else if (force || Date.now() - last >= 2000) {
        last = Date.now()
        err.write(`${label}: ${text}\n`)
      }
    },
    end() {
      if (tty && drawn) err.write('\n')
      drawn = false
    },
  }
}

/** What a tenant's run did, as one JSON line. */
export function runLine(r: TenantRetention): Record<string, unknown> {
  const p = r.report
  return {
    tenantId: r.tenantId,
    policy: r.policy,
    ...(r.tenantHeld ? { held: 'tenant' } : {}),
    ...(p === null
      ? {}
      : {
          dryRun: p.dryRun,
          checkpointSize: p.checkpointSize,
          due: p.due,
          purged: p.purged,
          held: p.held,
          notSealedYet: p.uncovered,
          refused: p.refusedCount,
          refusedEvents: p.refused,
          segments: p.segments,
        }),
    runId: r.runId,
  }
}

export async function retentionRun(
  c: CommandContext,
  o: { tenant?: string; 'dry-run'?: boolean },
  settings: RetentionSettings,
  signer: () => NoteSigner,
): Promise<number> {
  const dryRun = o['dry-run'] === true
  const tenantId = o.tenant === undefined ? undefined : await tenantIdOf(c.db, o.tenant)
  // A dry run signs nothing: it needs no key.
  const key = dryRun ? signerFromKey(generateSigningKey('dry-run')) : signer()
  const progress = progressLine(c.err, dryRun ? 'retention (dry run)' : 'retention')
  const results = await runRetention({
    store: c,
    signer: key,
    archiveDir: settings.archiveDir,
    dryRun,
    signal: c.signal,
    ...(tenantId === undefined ? {} : { tenantId }),
    onProgress: (t, p) =>
      progress.update(`tenant ${t}: ${p.scanned} events read, ${p.purged} purged, ${p.segments} segments`),
  })
  progress.end()
  let refused = 0
  for (const r of results) {
    c.out.write(`${JSON.stringify(runLine(r))}\n`)
    refused += r.report?.refusedCount ?? 0
    const p = r.report
    const what =
      r.policy === null
        ? 'no policy: nothing purged'
        : r.tenantHeld
          ? 'under a tenant hold: nothing purged'
          : `${p!.due} due, ${dryRun ? 'would purge' : 'purged'} ${dryRun ? p!.due : p!.purged}, held ${p!.held}, not sealed yet ${p!.uncovered}, refused ${p!.refusedCount}`
    c.err.write(`retention: tenant ${r.tenantId}: ${what}\n`)
  }
  if (results.length === 0) c.err.write('retention: no tenant has a retention policy: nothing purged\n')
  if (refused > 0)
    c.err.write(
      `retention: ${refused} events no longer hash to their sealed leaf and were kept: run audited verify\n`,
    )
  return refused > 0 ? 1 : 0
}

const findingLine = (f: ArchiveFinding) =>
  [f.kind.padEnd(20), f.segmentId === undefined ? '' : `segment=${f.segmentId} `, f.detail].join('')

/** `verify --archive DIR`: the archive against the log; exit code 0 clean, 1 findings. */
export async function verifyArchiveDir(
  c: CommandContext,
  verifier: Verifier,
  dir: string,
  o: { tenant?: string; json?: boolean },
): Promise<number> {
  const tenantId = o.tenant === undefined ? undefined : await tenantIdOf(c.db, o.tenant)
  const progress = progressLine(c.err, 'verify archive')
  const report = await verifyArchive({
    db: c.db,
    verifier,
    dir,
    ...(tenantId === undefined ? {} : { tenantId }),
    onProgress: (done, total) => progress.update(`${done}/${total} segments`),
  })
  progress.end()
  if (o.json === true) c.out.write(`${JSON.stringify(report)}\n`)
  else {
    for (const f of report.findings) c.out.write(`${findingLine(f)}\n`)
    c.out.write(
      `archive ${dir}: ${report.segments} segments, ${report.events} events, ${report.clean ? 'clean' : `${report.findings.length} findings`}\n`,
    )
  }
  return report.clean ? 0 : 1
}
