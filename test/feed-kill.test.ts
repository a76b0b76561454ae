/**
 * kill -9 of a consumer's process mid-batch, on every dialect: a standby process takes
 * over within 5 s, nothing is lost, and the only duplicates are the batch the killed
 * process had handled but not acknowledged.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { exitOf, killGroup, track, within } from './child-support.js'
import { databaseUrlOf } from './database-url.js'
import { ctx, forEachDialect, newId, posts } from './setup.js'

const FIXTURE = join(import.meta.dirname, 'fixtures', 'feed-consumer.ts')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function start(url: string, name: string, file: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=audited-dev', '--import', 'tsx', FIXTURE, url, name, file, '150'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    },
  )
  track(child)
  const ready = new Promise<ChildProcess>((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child))
    child.once('exit', (code) => reject(new Error(`consumer exited early (${code})`)))
  })
  return within(ready, 60_000, 'the consumer ready').catch((e: unknown) => {
    killGroup(child)
    throw e
  })
}

/** Until `check()`, failing with `what` after `ms`. */
async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    assert.ok(Date.now() < deadline, `${what}: not after ${ms} ms`)
    await sleep(5)
  }
}

function lines(file: string): { pid: number; id: string }[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [pid, id] = l.split(' ')
      return { pid: Number(pid), id: id! }
    })
}

forEachDialect('consumer kill -9', (f) => {
  it('fails over within 5 s and loses nothing; duplicates only of the unacknowledged batch', {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audited-kill-'))
    const file = join(dir, 'handled.txt')
    const name = `kill-${newId()}`
    const tctx = { ...ctx, tenantId: `kill-${newId()}` }
    const written: string[] = []
    for (let i = 0; i < 30; i++) {
      const rows = Array.from({ length: 50 }, () => ({ id: newId(), title: `k ${newId()}` }))
      await f.auditor.createMany(posts, rows, tctx)
    }
    const events = await f.auditor.events.list({ tenantId: tctx.tenantId, limit: 1000 })
    written.push(...events.events.map((e) => e.eventId))
    for (let page = events; page.hasMore; ) {
      page = await f.auditor.events.list({ tenantId: tctx.tenantId, limit: 1000, after: page.nextCursor! })
      written.push(...page.events.map((e) => e.eventId))
    }
    assert.equal(written.length, 1500)
    const url = await databaseUrlOf(f.name, f.db)
    const a = await start(url, name, file)
    let b: ChildProcess | undefined
    try {
      await until(() => lines(file).length > 0, 'the first batch handled')
      b = await start(url, name, file) // a standby: A holds the lease
      await until(() => lines(file).length >= 300, '300 events handled')
      const before = lines(file)
      assert.ok(
        before.every((l) => l.pid === a.pid),
        'only the lease holder handled events',
      )
      a.kill('SIGKILL')
      const killedAt = Date.now()
      await within(exitOf(a), 30_000, 'exit after SIGKILL')
      const atKill = lines(file).length
      while (!lines(file).some((l) => l.pid === b!.pid)) {
        assert.ok(Date.now() - killedAt < 5000, 'the standby took over within 5 s')
        await sleep(10)
      }
      const failover = Date.now() - killedAt
      process.stdout.write(`# ${f.name}: fail-over after kill -9 in ${failover} ms\n`)
      while (new Set(lines(file).map((l) => l.id)).size < written.length) {
        assert.ok(Date.now() - killedAt < 60_000, 'every event handled')
        await sleep(20)
      }
      const all = lines(file)
      assert.deepEqual(new Set(all.map((l) => l.id)), new Set(written), 'nothing lost, nothing foreign')
      const byA = all.slice(0, atKill)
      const byB = all.slice(atKill)
      assert.ok(byA.every((l) => l.pid === a.pid) && byB.every((l) => l.pid === b!.pid))
      const seenByA = new Set(byA.map((l) => l.id))
      const duplicates = byB.filter((l) => seenByA.has(l.id))
      assert.ok(
        duplicates.length <= 50,
        `${duplicates.length} duplicates: at most the one unacknowledged batch`,
      )
      // The duplicates are exactly A's last batch, redone first by B.
      assert.deepEqual(
        duplicates.map((l) => l.id),
        byB.slice(0, duplicates.length).map((l) => l.id),
      )
      assert.deepEqual(
        duplicates.map((l) => l.id),
        byA.slice(byA.length - duplicates.length).map((l) => l.id),
      )
      assert.equal(new Set(byB.map((l) => l.id)).size, byB.length, 'B handled nothing twice')
      assert.deepEqual(
        all.map((l) => l.id).filter((id, i, list) => list.indexOf(id) === i),
        written,
        'in feed order',
      )
    } finally {
      a.kill('SIGKILL')
      if (b !== undefined) {
        b.kill('SIGTERM')
        await within(exitOf(b), 30_000, 'the standby exiting after SIGTERM').finally(() => killGroup(b!))
      }
      killGroup(a)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
