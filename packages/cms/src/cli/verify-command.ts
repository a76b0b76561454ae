/**
 * `verify [--tenant T] [--against FILE|nats://HOST] [--json] [--key VERIFIER_KEY]`: recomputes every
 * sealed event's leaf, rebuilds each tenant's Merkle log and checks it against every signed
 * checkpoint (and every witnessed one: a witness file, or the NATS witness stream), with
 * the library's `verifyLogs`.
 * Exit code 0 when clean, 1 with findings; usage and configuration errors are `validation`
 * (exit code 2), found before the database is opened.
 */
import { readFileSync } from 'node:fs'
import {
  AuditedError,
  type Finding,
  parseVerifierKey,
  type Verifier,
  type VerifyReport,
  verifyLogs,
} from 'audited'
import { type CheckpointSettings, loadSigningKey } from '../server/checkpoint-key.js'
import { parseWitnessFile } from '../server/witness-file.js'
import { type CommandContext, tenantIdOf } from './commands.js'

export interface VerifyInput {
  readonly verifier: Verifier
  readonly verifierKey: string
  /** The witness file's checkpoint notes (`--against`). */
  readonly witnessed?: { readonly file: string; readonly notes: string[]; readonly torn: boolean }
}

/** The verifier key (`--key`, else the configured signing key's) and the witnessed
 * checkpoints (`--against`: a witness file, or `nats://host:port[/STREAM]` for the JetStream
 * witness stream, by default `<NATS_STREAM>_CHECKPOINTS`). */
export async function prepareVerify(
  o: { key?: string; against?: string },
  settings: CheckpointSettings,
  nats: { stream: string; subjectPrefix: string } = { stream: 'AUDITED', subjectPrefix: 'audited' },
): Promise<VerifyInput> {
  let verifierKey: string
  if (o.key !== undefined) verifierKey = o.key.trim()
  else verifierKey = loadSigningKey(settings, false).signer.verifierKey
  let verifier: Verifier
  try {
    verifier = parseVerifierKey(verifierKey)
  } catch (e) {
    throw new AuditedError(
      'validation',
      `--key is not a verifier key (<name>+<key id>+<base64>, as GET /api/v1/audit/checkpoints/key answers): ${(e as Error).message}.`,
      { details: { option: '--key' }, cause: e },
    )
  }
  if (o.against === undefined) return { verifier, verifierKey }
  const against = o.against
  const refused = (what: string, e: unknown) =>
    new AuditedError('validation', `--against ${what}: ${(e as Error).message}.`, {
      details: { option: '--against' },
      cause: e,
    })
  if (/^nats:\/\//i.test(against)) {
    const { readNatsWitness, witnessTarget } = await import('../delivery/nats-witness.js')
    let url: URL
    try {
      url = new URL(against)
    } catch (e) {
      throw refused('is not a NATS address (nats://host:port[/STREAM])', e)
    }
    const stream = decodeURIComponent(url.pathname.replace(/^\//, ''))
    const target = witnessTarget(nats.stream, nats.subjectPrefix)
    const chosen = stream === '' ? target : { ...target, stream }
    try {
      // Credentials in the URL (nats://user:pass@host) are used, never printed.
      const notes = await readNatsWitness(`nats://${url.host}`, chosen, undefined, {
        user: decodeURIComponent(url.username),
        pass: decodeURIComponent(url.password),
      })
      return {
        verifier,
        verifierKey,
        witnessed: { file: `${url.host}/${chosen.stream}`, notes, torn: false },
      }
    } catch (e) {
      throw refused(`${url.host}/${chosen.stream}`, e)
    }
  }
  let text: string
  try {
    text = readFileSync(against, 'utf8')
  } catch (e) {
    throw new AuditedError('validation', `Cannot read --against ${against}: ${(e as Error).message}.`, {
      details: { option: '--against' },
      cause: e,
    })
  }
  try {
    return { verifier, verifierKey, witnessed: { file: against, ...parseWitnessFile(text, against) } }
  } catch (e) {
    throw new AuditedError('validation', `--against: ${(e as Error).message}.`, {
      details: { option: '--against' },
      cause: e,
    })
  }
}

/** Runs the verification; the exit code (0 clean, 1 findings). */
export async function verify(c: CommandContext, input: VerifyInput, o: { tenant?: string; json?: boolean }) {
  const tenantId = o.tenant === undefined ? undefined : await tenantIdOf(c.db, o.tenant)
  const { witnessed } = input
  if (witnessed?.torn)
    c.err.write(`verify: the last line of ${witnessed.file} is cut short (an append interrupted): skipped\n`)
  const progress = progressWriter(c.err)
  const report = await verifyLogs({
    db: c.db,
    auditor: c.auditor,
    verifier: input.verifier,
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(witnessed === undefined ? {} : { witnessed: witnessed.notes }),
    onProgress: progress.update,
  })
  progress.end(report.events)
  if (o.json === true) c.out.write(`${JSON.stringify(report)}\n`)
  else c.out.write(summary(report, input))
  return report.clean ? 0 : 1
}

/** On a terminal a bar redrawn in place; otherwise a line every 2 s, and one at the end. */
function progressWriter(err: NodeJS.WritableStream) {
  const tty = (err as { isTTY?: boolean }).isTTY === true
  let last = Date.now()
  const line = (done: number, total: number) => {
    const pct = total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100))
    if (!tty) return `verify: ${done}/${total} events checked (${pct}%)\n`
    return `\rverify [${'#'.repeat(Math.floor(pct / 5)).padEnd(20, '.')}] ${pct}% ${done}/${total} events`
  }
  return {
    update(done: number, total: number) {
      if (tty) err.write(line(done, total))
      else if (Date.now() - last >= 2000) {
        last = Date.now()
        err.write(line(done, total))
      }
    },
    end(done: number) {
      err.write(line(done, done))
      if (tty) err.write('\n')
    },
  }
}

const tenantLabel = (tenantId: string | null) => (tenantId === null ? 'none' : tenantId)

/** One line of a finding: kind, tenant, event / leaf / tree size, detail. */
export function findingLine(f: Finding): string {
  const parts = [f.kind.padEnd(18), `tenant=${tenantLabel(f.tenantId)}`]
  if (f.eventId !== undefined) parts.push(`event=${f.eventId}`)
  if (f.leafIndex !== undefined) parts.push(`leaf=${f.leafIndex}`)
  if (f.treeSize !== undefined) parts.push(`tree=${f.treeSize}`)
  return `${parts.join(' ')}: ${f.detail}\n`
}

function summary(report: VerifyReport, input: VerifyInput): string {
  const out: string[] = []
  const logs = report.logs.length
  out.push(
    `Checked ${report.events} events in ${logs} ${logs === 1 ? 'log' : 'logs'} with key ${input.verifierKey}\n`,
  )
  for (const l of report.logs) {
    const unsealed = l.unsealed === 0 ? '' : `, ${l.unsealed} not sealed yet`
    out.push(
      `  tenant ${tenantLabel(l.tenantId)}: ${l.leaves} leaves, ${l.checkpoints} checkpoints${unsealed}\n`,
    )
  }
  if (input.witnessed !== undefined)
    out.push(`  against ${input.witnessed.notes.length} witnessed checkpoints from ${input.witnessed.file}\n`)
  for (const f of report.findings) out.push(findingLine(f))
  const n = report.findings.length
  out.push(
    n === 0
      ? 'Clean: every sealed event is in its log, unchanged, and every checkpoint verifies.\n'
      : `${n} ${n === 1 ? 'finding' : 'findings'}: the stored trail is not the one that was sealed and signed.\n`,
  )
  return out.join('')
}
