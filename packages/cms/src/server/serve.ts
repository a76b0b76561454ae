import { rmSync } from 'node:fs'
import { AuditedError, createAuditor, isAuditedError, migrate, openDatabase } from 'audited'
import { type BootstrapResult, bootstrap } from '../cms/bootstrap.js'
import { createLimiter, MemoryBucketStore, RedisBucketStore } from '../cms/limits.js'
import { CMS_MIGRATIONS } from '../cms/schema.js'
import { type SessionPurgeSchedule, scheduleSessionPurge } from '../cms/sessions.js'
import type { NatsPublisher } from '../delivery/nats-publisher.js'
import type { NatsWitness } from '../delivery/nats-witness.js'
import { WebhookRuntime } from '../webhooks/runtime.js'
import { buildApp } from './app.js'
import { checkpointSettings, type LoadedKey, loadSigningKey } from './checkpoint-key.js'
import {
  HTTP_TIMEOUTS_DEFAULT,
  type NatsConfig,
  SESSION_PURGE_INTERVAL_MS_DEFAULT,
  type ServerConfig,
} from './config.js'
import { logFormatFor, loggedError, prettyStream } from './log-lines.js'
import { LoginLimiter } from './login-limiter.js'
import { ServerMetrics } from './metrics.js'
import { loadMasterKey, MASTER_KEY_FILE, personalDataSettings } from './personal-data-key.js'
import { newRedis } from './redis-client.js'
import { retentionSettings, startRetention } from './retention-settings.js'
import { type Sealing, startSealing } from './sealing.js'
import { holdShutdownSignals, type ShutdownSignals } from './shutdown-signals.js'
import { webhookSettings } from './webhook-config.js'

/** Loads (or on first start generates) the checkpoint signing key and the personal-data
 * master key, opens (and on SQLite
 * creates) the database, migrates, bootstraps, listens, seals the tenant logs, purges expired
 * sessions periodically; closes gracefully on SIGINT/SIGTERM: stops the purge (after its
 * current batch), stops accepting, finishes in-flight requests, stops the feed consumers
 * (the sealer; NATS_URL: the publisher, after its batch in hand; then the connection
 * drains), closes the pool. */
export async function serve(config: ServerConfig): Promise<{ close(): Promise<void>; url: string }> {
  // Installed first: a signal during the start-up shuts down once the start-up is done.
  const signals = holdShutdownSignals()
  try {
    return await start(config, signals)
  } catch (error) {
    signals.dispose()
    throw error
  }
}

async function start(
  config: ServerConfig,
  signals: ShutdownSignals,
): Promise<{ close(): Promise<void>; url: string }> {
  // First: a key that cannot be read or written stops the start before anything opens.
  const checkpoints = config.checkpoints ?? checkpointSettings({})
  const key = loadSigningKey(checkpoints, true)
  if (key.generated !== undefined) process.stdout.write(keyNotice(key))
  const master = loadMasterKey(config.personalData ?? personalDataSettings({}), true)
  if (master.generated !== undefined) process.stdout.write(masterKeyNotice(master.generated))
  const retention = config.retention ?? retentionSettings({})
  const db = await openDatabase(config.databaseUrl, {
    pool: { max: config.poolMax, acquireTimeoutMs: config.acquireTimeoutMs },
    sqlite: { createDirectory: true },
  })
  await migrate(db, CMS_MIGRATIONS)
  const buckets =
    config.redisUrl === undefined ? new MemoryBucketStore() : new RedisBucketStore(newRedis(config.redisUrl))
  const limiter = createLimiter(db, buckets)
  const metrics = ServerMetrics.of(db.capabilities)
  let auditor: ReturnType<typeof createAuditor>
  try {
    auditor = createAuditor({
      db,
      hooks: { before: limiter.before, committed: metrics.recordEvents },
      personalData: { masterKey: master.masterKey },
      durability: config.durability ?? 'full',
      ...(config.nodeId ? { nodeId: config.nodeId } : {}),
    })
  } catch (error) {
    // e.g. AUDIT_DURABILITY=relaxed on MySQL: an open pool would keep the process alive
    await buckets.close()
    await db.close()
    throw error
  }
  // A master key that does not open the stored subject keys (a lost DATA_DIR, a generated
  // key beside another server's database) is refused before anything is served.
  try {
    await auditor.privacy.checkMasterKey()
  } catch (error) {
    if (master.generated !== undefined) rmSync(master.generated, { force: true })
    await auditor.close()
    await buckets.close()
    await db.close()
    throw isAuditedError(error) && error.code === 'validation'
      ? new AuditedError(
          'validation',
          `${error.message} Set PERSONAL_DATA_KEY, or restore ${MASTER_KEY_FILE} into DATA_DIR.`,
          { details: { name: 'PERSONAL_DATA_KEY' }, cause: error },
        )
      : error
  }
  const loginLimiter =
    config.redisUrl === undefined
      ? LoginLimiter.memory(config.loginLimits)
      : LoginLimiter.redis(config.redisUrl, config.loginLimits)
  const timeouts = config.http ?? HTTP_TIMEOUTS_DEFAULT
  const webhooks = new WebhookRuntime(db, auditor, {
    ...(config.webhooks ?? webhookSettings({})),
    onAttempt: (outcome) => metrics.webhookAttempt(outcome),
    onDisabled: (webhookId, tenantId, reason) => {
      metrics.webhookDisabled()
      app.log.warn({ webhookId, tenantId, reason }, 'webhook disabled')
    },
    onError: (error) => app.log.error({ err: loggedError(error) }, 'webhook delivery failed'),
  })
  const app = buildApp({
    webhooks,
    db,
    auditor,
    metrics,
    login: { limiter: loginLimiter },
    trustProxy: config.trustProxy,
    logger:
      logFormatFor(config.logFormat, process.stdout.isTTY === true) === 'pretty'
        ? { level: config.logLevel, stream: prettyStream(process.stdout) }
        : { level: config.logLevel },
    http: timeouts,
    ...(config.live === undefined ? {} : { live: config.live }),
    checkpointKey: key.signer.verifierKey,
  })
  const first = await bootstrap(db, auditor, { email: config.adminEmail, password: config.adminPassword })
  let url: string
  let nats: NatsDelivery | undefined
  try {
    if (config.nats !== undefined) nats = await startNats(config.nats, auditor, metrics, app.log)
    url = await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    // The admin exists now: its generated password must not be lost with this start (the
    // next one, finding the admin, prints nothing).
    if (first !== undefined) process.stdout.write(firstStartNotice(undefined, first))
    await app.close()
    await auditor.close()
    await nats?.close()
    await buckets.close()
    await loginLimiter.close()
    await db.close()
    throw error
  }
  if (first !== undefined) process.stdout.write(firstStartNotice(url, first))
  app.log.info(`audit explorer at ${url}/admin`)
  webhooks.start()
  const sealing: Sealing = startSealing({
    db,
    auditor,
    signer: key.signer,
    witnessFile: checkpoints.witnessFile,
    ...(nats === undefined ? {} : { natsWitness: nats.witness }),
    log: app.log,
  })
  const retentionRuns = startRetention(retention, key.signer, { db, auditor }, app.log)
  // Expired login sessions: deleted (audited) at start and every interval; 0 turns it off.
  const purgeIntervalMs = config.sessionPurgeIntervalMs ?? SESSION_PURGE_INTERVAL_MS_DEFAULT
  const purge: SessionPurgeSchedule | undefined =
    purgeIntervalMs > 0
      ? scheduleSessionPurge({
          db,
          auditor,
          intervalMs: purgeIntervalMs,
          onPurged: (count) => {
            if (count > 0) app.log.info({ count }, 'expired sessions purged')
          },
          onError: (err) => app.log.warn({ err: loggedError(err) }, 'purging expired sessions failed'),
        })
      : undefined
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      // The deadline: connections still open then are destroyed. Their requests were not
      // answered, so no acknowledged write is lost (a write is acknowledged after COMMIT).
      const deadline = setTimeout(() => {
        app.log.warn('shutdown deadline reached: closing the remaining connections')
        app.server.closeAllConnections()
      }, timeouts.shutdownTimeoutMs)
      deadline.unref()
      await purge?.stop()
      await retentionRuns?.stop()
      await webhooks.stop()
      await sealing.stop()
      await auditor.close()
      await nats?.close()
      await app.close()
      clearTimeout(deadline)
      await buckets.close()
      await loginLimiter.close()
      await db.close()
    })()
    return closing
  }
  signals.ready(
    (signal) => {
      app.log.info({ signal }, 'shutting down')
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    },
    (signal) => app.log.info({ signal }, 'already shutting down'),
  )
  return { close, url }
}

/** host:port of a NATS URL list, never its credentials. */
function natsServers(url: string): string {
  return url
    .split(',')
    .map((part) => {
      const s = part.trim()
      try {
        return new URL(s.includes('://') ? s : `nats://${s}`).host
      } catch {
        return '(unparsable)'
      }
    })
    .join(',')
}

/** NATS_URL: loads the NATS client, makes sure the stream exists, starts publishing. */
async function startNats(
  config: NatsConfig,
  auditor: ReturnType<typeof createAuditor>,
  metrics: ServerMetrics,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
): Promise<NatsDelivery> {
  const { startNatsPublisher } = await import('../delivery/nats-publisher.js')
  const { openNatsWitness, witnessTarget } = await import('../delivery/nats-witness.js')
  const target = witnessTarget(config.stream, config.subjectPrefix)
  let publisher: NatsPublisher | undefined
  let witness: NatsWitness
  try {
    publisher = await startNatsPublisher(auditor, {
      url: config.url,
      subjectPrefix: config.subjectPrefix,
      stream: config.stream,
      clientName: `audited ${auditor.nodeId}`,
      counts: metrics.natsCounts,
      onError: (err, info) =>
        log.warn(
          { err: loggedError(err), ...info },
          info.parked ? 'NATS publishing parked' : 'NATS publish failed',
        ),
    })
    witness = await openNatsWitness(config.url, target, `audited ${auditor.nodeId} witness`)
  } catch (e) {
    await publisher?.close()
    throw new AuditedError(
      'unavailable',
      `NATS at ${natsServers(config.url)}: ${e instanceof Error ? e.message : String(e)} (NATS_URL is set: the server does not start without it).`,
      { details: { reason: 'nats_unavailable' }, cause: e },
    )
  }
  const { action, shortDuplicateWindowMs } = publisher.stream
  log.info(
    { stream: config.stream, subjects: `${config.subjectPrefix}.>`, action },
    'publishing change events to NATS JetStream',
  )
  if (shortDuplicateWindowMs !== undefined)
    log.warn(
      { stream: config.stream, duplicateWindowMs: shortDuplicateWindowMs },
      'the NATS stream keeps message ids shorter than 2 minutes: a batch retried later may be stored twice',
    )
  log.info(
    { stream: target.stream, subjects: `${target.subjectPrefix}.>` },
    'witnessing checkpoints in NATS JetStream',
  )
  return {
    publisher,
    witness,
    async close() {
      await publisher.close()
      await witness.close()
    },
  }
}

/** NATS_URL: the change-event publisher and the checkpoint witness. */
interface NatsDelivery {
  readonly publisher: NatsPublisher
  readonly witness: NatsWitness
  close(): Promise<void>
}

/** What the start that generated the checkpoint signing key prints once: its verifier key. */
function keyNotice(key: LoadedKey): string {
  return [
    '',
    `Checkpoint signing key generated: ${key.generated}   (mode 0600: keep it secret, back it up)`,
    `  verifier key:  ${key.signer.verifierKey}`,
    '  Give the verifier key to whoever checks the logs: audited verify --key <verifier key>',
    '',
    '',
  ].join('\n')
}

/** What the start that generated the personal-data master key prints once (never the key). */
function masterKeyNotice(file: string): string {
  return [
    '',
    `Personal-data master key generated: ${file}   (mode 0600: keep it secret, back it up with the database;`,
    '  without it no personal value in the audit trail can be read again)',
    '',
    '',
  ].join('\n')
}

/** What the first start prints once, apart from the log lines: where (unless it could not
 * listen), and who to sign in as. */
function firstStartNotice(url: string | undefined, first: BootstrapResult): string {
  const password =
    first.generatedPassword === undefined
      ? '(the ADMIN_PASSWORD you set)'
      : `${first.generatedPassword}   (generated, shown once)`
  return [
    '',
    `First start: tenant "default" and a platform admin were created.`,
    url === undefined
      ? '  The server could not start listening (see below); sign in once it does.'
      : `  API:       ${url}/api/v1   (docs: ${url}/docs)`,
    ...(url === undefined
      ? []
      : [`  Explorer:  ${url}/admin   (sign in with the e-mail and password below)`]),
    `  e-mail:    ${first.adminEmail}`,
    `  password:  ${password}`,
    `  Lost it? audited admin reset-password --email ${first.adminEmail}`,
    '',
    '',
  ].join('\n')
}
