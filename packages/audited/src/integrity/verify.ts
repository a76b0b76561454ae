import { availableParallelism } from 'node:os'
import { ArchiveStore } from './archive-store.js'
import { type CheckpointFacts, openCheckpoint } from './checkpoints.js'
import { LeafRanges } from './leaf-ranges.js'
import { WORKER_BY_DEFAULT } from './leaf-worker-client.js'
import { LogCheck } from './log-check.js'
import { LogStore, logKeyOf } from './log-store.js'
import { nodeSignatureCheck } from './node-crypto.js'
import { Recheck, VerifyReader } from './verify-reader.js'
import type { Finding, VerifyOptions, VerifyReport } from './verify-report.js'

export type { Finding, FindingKind, VerifyOptions, VerifyReport } from './verify-report.js'

/** Events per feed page. */
const PAGE = 1000
/** Suspect events read in full once this many are waiting (and at the end). */
const RECHECK_BATCH = 500

/**
 * Recomputes every leaf from the stored events, rebuilds each tenant's tree, and checks it
 * against every checkpoint (root, signature, chain) and every witnessed checkpoint. Reads
 * the feed once, in pages; memory stays bounded by the number of logs.
 */
export async function verifyLogs(o: VerifyOptions): Promise<VerifyReport> {
  const threads =
    (o.workers ?? WORKER_BY_DEFAULT)
      ? Math.min(o.db.capabilities.leafSql?.readThreads ?? 0, availableParallelism())
      : 0
  const reader = new VerifyReader(o.db, o.tenantId, threads)
  try {
    return await verifyWith(o, reader)
  } finally {
    await reader.close()
  }
}

async function verifyWith(o: VerifyOptions, reader: VerifyReader): Promise<VerifyReport> {
  const store = new LogStore(o.db.readKysely, o.db.capabilities)
  const archive = new ArchiveStore(o.db.readKysely, o.db.capabilities)
  const findings: Finding[] = []
  const recheck = new Recheck(o.auditor)
  const ranges = new LeafRanges(store, o.db.capabilities)
  const witnessedByLog = new Map<string, CheckpointFacts[]>()
  for (const note of o.witnessed ?? []) {
    try {
      const facts = openCheckpoint(note, o.verifier, nodeSignatureCheck)
      const key = logKeyOf(facts.tenantId)
      witnessedByLog.set(key, [...(witnessedByLog.get(key) ?? []), facts])
    } catch (e) {
      findings.push({
        kind: 'bad_signature',
        tenantId: null,
        detail: `a witnessed checkpoint: ${(e as Error).message}`,
      })
    }
  }
  // Checkpoints first, then the logs' states: every checkpoint seen is covered by a state.
  const limits = await store.latestSizes()
  const states = new Map((await store.statesRead()).map((s) => [s.logKey, s]))
  const logs = new Map<string, LogCheck>()
  const logOf = (key: string) => {
    let l = logs.get(key)
    if (l === undefined) {
      l = new LogCheck(
        key,
        states.get(key),
        limits.get(key) ?? 0,
        store,
        witnessedByLog.get(key) ?? [],
        findings,
        o.verifier,
        archive,
        recheck,
        ranges,
      )
      logs.set(key, l)
    }
    return l
  }
  const only = o.tenantId === undefined ? undefined : logKeyOf(o.tenantId)
  for (const key of new Set([...states.keys(), ...witnessedByLog.keys()]))
    if (only === undefined || key === only) logOf(key)
  if (only !== undefined) logOf(only)

  let total = 0
  {
    let q = o.db.readKysely.selectFrom('change_events').select((eb) => eb.fn.countAll().as('n'))
    if (o.tenantId !== undefined)
      q = o.tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', o.tenantId)
    total = Number((await q.executeTakeFirst())?.n ?? 0)
  }
  let done = 0
  for await (const page of reader.pages(PAGE)) {
    for (const r of page) {
      const reading = logOf(logKeyOf(r.tenantId)).event(r.eventId, r.point, r.hex)
      if (reading !== undefined) await reading
    }
    if (recheck.size >= RECHECK_BATCH) await recheck.flush()
    done += page.length
    o.onProgress?.(done, Math.max(total, done))
  }
  for (const log of logs.values()) await log.finish()
  await recheck.flush()
  return {
    clean: findings.length === 0,
    events: done,
    rechecked: recheck.count,
    logs: [...logs.values()].map((l) => ({
      tenantId: l.tenantId,
      leaves: l.stored.size,
      checkpoints: l.checkpoints,
      unsealed: l.unsealed,
    })),
    findings,
    threads: reader.threads,
  }
}
