/**
 * `audited verify` as an operator runs it, end to end, on every dialect: the real server
 * (`audited serve`) seals its writes and witnesses each checkpoint in CHECKPOINT_LOG and in
 * NATS JetStream (NATS_URL); stopped, `audited verify` checks the database — clean, exit 0,
 * against the file and against `nats://…` too. Then the log is rewritten the way only its
 * owner could (an event and its leaf together, the checkpoints dropped): the database alone
 * verifies clean again, and only the witnesses catch it — exit 1, `witness_mismatch`, from the
 * file and from NATS alike. The witness stream refuses to delete a witnessed checkpoint.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { generateSigningKey, openDatabase, signerFromKey } from '../packages/audited/src/index.js'
import { eventLeafHash, toHex } from '../packages/audited/src/proofs.js'
import { readNatsWitness, witnessTarget } from '../packages/cms/src/delivery/nats-witness.js'
import { BOUNDED, killGroup, track, within } from './child-support.js'
import { rewriteRightEdge } from './log-rewrite.js'
import { NATS_URL, NatsReader, natsSkip, uniqueNames, waitUntil } from './nats-support.js'
import { DIALECTS } from './setup.js'

const exec = promisify(execFile)
const CLI = fileURLToPath(new URL('../packages/cms/src/cli/main.ts', import.meta.url))
const ADMIN = { email: 'verify@example.test', password: 'a long enough password' }

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

for (const d of DIALECTS) {
  describe(`audited verify, end to end [${d.name}]`, { skip: d.skip ?? natsSkip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'audited-cli-verify-'))
    const witnessFile = join(dir, 'witness.jsonl')
    const names = uniqueNames()
    const target = witnessTarget(names.stream, names.prefix)
    const key = generateSigningKey('audited.verify-test')
    const verifierKey = signerFromKey(key).verifierKey
    let drop: () => Promise<void>
    let env: NodeJS.ProcessEnv
    let nats: NatsReader
    let tenantId: string

    const verify = async (...args: string[]): Promise<Run> => {
      try {
        const r = await exec(
          process.execPath,
          ['--conditions=audited-dev', '--import', 'tsx', CLI, 'verify', ...args],
          {
            env,
            ...BOUNDED,
          },
        )
        return { code: 0, stdout: r.stdout, stderr: r.stderr }
      } catch (e) {
        const x = e as { code: number; stdout: string; stderr: string }
        return { code: x.code, stdout: x.stdout, stderr: x.stderr }
      }
    }

    before(async () => {
      const created = await d.create()
      drop = created.drop
      nats = await NatsReader.open()
      env = {
        ...process.env,
        DATABASE_URL: created.url,
        DATA_DIR: dir,
        CHECKPOINT_SIGNING_KEY: key,
        CHECKPOINT_LOG: witnessFile,
        NATS_URL,
        NATS_STREAM: names.stream,
        NATS_SUBJECT_PREFIX: names.prefix,
        LOG_LEVEL: 'warn',
      }
      const server = await startServer(env)
      try {
        const call = async (path: string, body: unknown, token?: string) => {
          const res = await fetch(`${server.url}${path}`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            },
            body: JSON.stringify(body),
          })
          const json = (await res.json()) as Record<string, unknown>
          assert.ok(res.status < 300, `${path}: ${res.status} ${JSON.stringify(json)}`)
          return json
        }
        const token = (await call('/api/v1/auth/login', ADMIN)).token as string
        await call(
          '/api/v1/content-types',
          { key: 'note', name: 'Note', fields: [{ name: 'title', type: 'string' }] },
          token,
        )
        for (let i = 0; i < 8; i++) await call('/api/v1/entries/note', { data: { title: `n${i}` } }, token)
        const db = await openDatabase(created.url)
        try {
          const row = await db.readKysely
            .selectFrom('tenants' as never)
            .select('id' as never)
            .executeTakeFirstOrThrow()
          tenantId = (row as { id: string }).id
          const events = async () =>
            Number(
              (
                await db.readKysely
                  .selectFrom('change_events')
                  .select((eb) => eb.fn.countAll().as('n'))
                  .where('tenant_id', '=', tenantId)
                  .executeTakeFirstOrThrow()
              ).n,
            )
          const lastWitnessed = () => {
            const lines = readFileSync(witnessFile, 'utf8').split('\n').filter(Boolean)
            const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.tenantId === tenantId)
            return mine.at(-1)?.treeSize ?? 0
          }
          // Every event of the tenant sealed, its checkpoint in the file and in NATS.
          await waitUntil('the tenant log sealed and witnessed', async () => {
            let witnessed = 0
            try {
              witnessed = lastWitnessed()
            } catch {
              return false
            }
            if (witnessed === 0 || witnessed !== (await events())) return false
            const inNats = await readNatsWitness(NATS_URL, target, tenantId).catch(() => [])
            return inNats.some((n) => n.includes(`\n${witnessed}\n`))
          })
        } finally {
          await db.close()
        }
      } finally {
        server.child.kill('SIGTERM')
        assert.equal(
          await within(server.exited, 30_000, 'exit after SIGTERM', server.output),
          0,
          'the server stopped gracefully',
        )
      }
    })

    after(async () => {
      await nats?.deleteStream(names.stream)
      await nats?.deleteStream(target.stream)
      await nats?.close()
      await drop?.()
      rmSync(dir, { recursive: true, force: true })
    })

    it('an untouched log: exit 0, alone, against the witness file and against NATS', async () => {
      const alone = await verify()
      assert.equal(alone.code, 0, alone.stdout + alone.stderr)
      assert.match(alone.stdout, /Clean:/)
      assert.match(alone.stdout, new RegExp(`with key ${verifierKey.replace(/[+]/g, '\\+')}`))
      const file = await verify('--against', witnessFile)
      assert.equal(file.code, 0, file.stdout + file.stderr)
      assert.match(file.stdout, /against \d+ witnessed checkpoints from /)
      const fromNats = await verify('--against', NATS_URL, '--json')
      assert.equal(fromNats.code, 0, fromNats.stdout + fromNats.stderr)
      const report = JSON.parse(fromNats.stdout) as { clean: boolean; events: number; findings: unknown[] }
      assert.equal(report.clean, true)
      assert.ok(report.events > 8, `${report.events} events checked`)
      assert.deepEqual(report.findings, [])
      assert.match(fromNats.stderr, /events checked \(100%\)/, 'progress on stderr')
    })

    it('the witness stream refuses to delete or purge a witnessed checkpoint', async () => {
      const info = await nats.jsm.streams.info(target.stream)
      assert.ok(info.state.messages > 0)
      await assert.rejects(nats.jsm.streams.deleteMessage(target.stream, info.state.first_seq))
      await assert.rejects(nats.jsm.streams.purge(target.stream))
      assert.equal((await nats.jsm.streams.info(target.stream)).state.messages, info.state.messages)
    })

    it('bad input: an unreadable witness, a missing stream, a bad key — exit 2, nothing verified', async () => {
      const missing = await verify('--against', join(dir, 'nope.jsonl'))
      assert.equal(missing.code, 2)
      assert.match(missing.stderr, /Cannot read --against/)
      const noStream = await verify('--against', `${NATS_URL}/NO_SUCH_STREAM_${names.stream}`)
      assert.equal(noStream.code, 2)
      assert.match(noStream.stderr, /does not exist/)
      const badKey = await verify('--key', 'not-a-key')
      assert.equal(badKey.code, 2)
      assert.match(badKey.stderr, /--key is not a verifier key/)
    })

    it('a log its owner rewrote (event, leaf, checkpoints) passes alone; both witnesses catch it', async () => {
      const db = await openDatabase(env.DATABASE_URL!)
      try {
        const k = db.kysely
        const first = await k
          .selectFrom('change_events')
          .select('event_id')
          .where('tenant_id', '=', tenantId)
          .orderBy('event_id')
          .executeTakeFirstOrThrow()
        const { createAuditor } = await import('../packages/audited/src/index.js')
        const auditor = createAuditor({ db })
        await k
          .updateTable('change_events')
          .set({ reason: 'rewritten by the database owner' })
          .where('event_id', '=', first.event_id)
          .execute()
        const [event] = await auditor.events.getMany([first.event_id], { tenantId })
        assert.ok(event, 'the rewritten event reads back')
        await k
          .updateTable('audited_log_leaves' as never)
          .set({ leaf_hash: toHex(eventLeafHash(event)) } as never)
          .where('event_id' as never, '=', first.event_id as never)
          .execute()
        await k
          .deleteFrom('audited_checkpoints' as never)
          .where('log_key' as never, '=', tenantId as never)
          .execute()
        await rewriteRightEdge(k, tenantId)
        await auditor.close()
      } finally {
        await db.close()
      }
      const alone = await verify('--json', '--tenant', tenantId)
      assert.equal(alone.code, 0, `the database alone is consistent again: ${alone.stdout}`)
      for (const against of [witnessFile, NATS_URL]) {
        const r = await verify('--json', '--tenant', tenantId, '--against', against)
        assert.equal(r.code, 1, `${against}: ${r.stdout}${r.stderr}`)
        const kinds = new Set(
          (JSON.parse(r.stdout) as { findings: { kind: string }[] }).findings.map((f) => f.kind),
        )
        assert.ok(kinds.has('witness_mismatch'), `${against}: ${[...kinds].join(', ')}`)
      }
    })
  })
}

interface Server {
  readonly child: ChildProcess
  readonly url: string
  readonly exited: Promise<number | null>
  readonly output: () => string
}

async function startServer(env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, ['--conditions=audited-dev', '--import', 'tsx', CLI, 'serve'], {
    env: { ...env, PORT: '0', LOG_LEVEL: 'info', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  track(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let out = ''
  const listening = new Promise<string>((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      out += chunk.toString()
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve(m[1]!)
    }
    child.stdout!.on('data', seen)
    child.stderr!.on('data', seen)
    exited.then(() => reject(new Error(`the server exited before listening:\n${out}`)))
  })
  const url = await within(listening, 60_000, 'the server listening', () => out).catch((e: unknown) => {
    killGroup(child)
    throw e
  })
  return { child, url, exited, output: () => out }
}
