/**
 * NATS delivery survives a killed publisher, on every dialect: a publisher process (the
 * server's batch handler as a durable consumer, test/fixtures/nats-publisher.ts) is killed
 * with SIGKILL in the middle of a batch — half of it already in the stream, its offset not
 * stored — and started again: the stream then holds every event exactly once (counted by
 * Nats-Msg-Id), because the redone batch's first half is dropped by JetStream as
 * duplicates (the restarted process saw them acknowledged as such). Also: an existing
 * stream is left as it is but for the missing subject.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { nanos } from '@nats-io/transport-node'
import { ensureStream } from '../packages/cms/src/delivery/nats-stream.js'
import { track, within } from './child-support.js'
import { duplicateIds, NATS_URL, NatsReader, natsSkip, uniqueNames, waitUntil } from './nats-support.js'
import { ctx, forEachDialect, newId, posts } from './setup.js'

const FIXTURE = new URL('./fixtures/nats-publisher.ts', import.meta.url).pathname
const EVENTS = 3000
const BATCH = 500
const HANG_AT = 3

interface Publisher {
  readonly child: ChildProcess
  /** Every line it printed so far. */
  readonly lines: string[]
  readonly exited: Promise<number | null>
}

function startPublisher(dbUrl: string, stream: string, prefix: string, hangAt: number): Publisher {
  const child = spawn(
    process.execPath,
    [
      '--conditions=audited-dev',
      '--import',
      'tsx',
      FIXTURE,
      dbUrl,
      NATS_URL,
      stream,
      prefix,
      String(BATCH),
      String(hangAt),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
  )
  track(child)
  const lines: string[] = []
  let partial = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, lines, exited }
}

if (natsSkip !== undefined) it('NATS delivery after a crash', { skip: natsSkip }, () => {})
else {
  forEachDialect('NATS delivery after a SIGKILL mid-batch', (f) => {
    const { stream, prefix } = uniqueNames()
    let reader: NatsReader
    const running: Publisher[] = []
    const eventIds: string[] = []

    before(async () => {
      reader = await NatsReader.open()
      for (let i = 0; i < EVENTS / 100; i++) {
        const rows = Array.from({ length: 100 }, (_, j) => ({ id: newId(), title: `crash ${i}-${j}` }))
        await f.auditor.createMany(posts, rows, ctx)
      }
      // The feed shows a commit once no older transaction can still commit below it
      // (PostgreSQL: the server-wide snapshot xmin, which other databases' work holds back).
      let after: string | undefined
      await waitUntil(`${EVENTS} events in the feed`, async () => {
        for (;;) {
          const page = await f.auditor.feed.read({ limit: 1000, ...(after === undefined ? {} : { after }) })
          eventIds.push(...page.events.map((e) => e.eventId))
          after = page.cursor
          if (page.events.length < 1000) return eventIds.length >= EVENTS
        }
      })
      assert.equal(eventIds.length, EVENTS)
    })
    after(async () => {
      for (const p of running) p.child.kill('SIGKILL')
      await reader?.deleteStream(stream)
      await reader?.close()
    })

    it('holds every event exactly once after the publisher is killed and restarted', async () => {
      const first = startPublisher(f.url, stream, prefix, HANG_AT)
      running.push(first)
      await waitUntil('the first publisher to hang mid-batch', async () =>
        first.lines.some((l) => l.startsWith('hang')),
      )
      const inStream = (HANG_AT - 1) * BATCH + BATCH / 2
      assert.equal(
        await reader.count(stream),
        inStream,
        'two batches and half of the third are in the stream',
      )
      const consumer = async () =>
        (await f.auditor.feed.stats()).consumers.find((c) => c.name === 'audited.nats')
      assert.equal(
        (await consumer())?.lagEvents,
        EVENTS - (HANG_AT - 1) * BATCH,
        'the offset is before batch 3',
      )
      first.child.kill('SIGKILL')
      assert.equal(await within(first.exited, 30_000, 'exit after SIGKILL'), null)

      const second = startPublisher(f.url, stream, prefix, 0)
      running.push(second)
      await waitUntil('every event in the stream', async () => (await reader.count(stream)) >= EVENTS, 60_000)
      await waitUntil('the consumer to catch up', async () => (await consumer())?.lagEvents === 0, 60_000)
      const messages = await reader.readAll(stream)
      assert.equal(messages.length, EVENTS)
      assert.deepEqual(duplicateIds(messages), [])
      assert.deepEqual(new Set(messages.map((m) => m.msgId)), new Set(eventIds))
      // The redone third batch: its first half came back from JetStream as duplicates.
      const acked = second.lines
        .filter((l) => l.startsWith('acked '))
        .map((l) => l.split(' ').slice(1).map(Number))
      assert.deepEqual(acked[0], [BATCH, BATCH / 2])
      assert.equal(
        acked.reduce((sum, [, d]) => sum + d!, 0),
        BATCH / 2,
      )
      second.child.kill('SIGTERM')
      assert.equal(
        await within(second.exited, 30_000, 'exit after SIGTERM', () => second.lines.join('\n')),
        0,
      )
    })
  })

  describe('NATS stream setup', () => {
    let reader: NatsReader
    const { stream, prefix } = uniqueNames()
    before(async () => {
      reader = await NatsReader.open()
    })
    after(async () => {
      await reader.deleteStream(stream)
      await reader.close()
    })

    it('creates an absent stream with <prefix>.> and a 2-minute duplicate window', async () => {
      const setup = await ensureStream(reader.jsm, stream, prefix)
      assert.equal(setup.action, 'created')
      const info = await reader.jsm.streams.info(stream)
      assert.deepEqual(info.config.subjects, [`${prefix}.>`])
      assert.ok(info.config.duplicate_window >= nanos(120_000))
      assert.equal((await ensureStream(reader.jsm, stream, prefix)).action, 'unchanged')
    })

    it('leaves an existing stream alone but adds the missing subject (and says when its window is short)', async () => {
      await reader.jsm.streams.delete(stream)
      await reader.jsm.streams.add({
        name: stream,
        subjects: [`${prefix}_other.>`],
        max_msgs: 12_345,
        duplicate_window: nanos(30_000),
      })
      const setup = await ensureStream(reader.jsm, stream, prefix)
      assert.equal(setup.action, 'subject-added')
      assert.equal(setup.shortDuplicateWindowMs, 30_000)
      const info = await reader.jsm.streams.info(stream)
      assert.deepEqual(info.config.subjects, [`${prefix}_other.>`, `${prefix}.>`])
      assert.equal(info.config.max_msgs, 12_345)
      assert.equal(info.config.duplicate_window, nanos(30_000))
    })
  })
}
