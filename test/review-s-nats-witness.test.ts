/**
 * Review S: the NATS checkpoint witness relies on its stream refusing to delete or purge
 * messages (`deny_delete`, `deny_purge`). An existing stream of that name is taken as it is:
 * one made without those flags (by hand, by whoever else holds the account) lets the
 * witnessed checkpoints be deleted one by one, and nothing says so. The witness must refuse
 * a stream that can delete its messages.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { ensureWitnessStream, witnessTarget } from '../packages/cms/src/delivery/nats-witness.js'
import { NATS_URL, natsSkip, uniqueNames } from './nats-support.js'

describe('review S: NATS witness stream', { skip: natsSkip }, () => {
  const names = uniqueNames()
  const target = witnessTarget(names.stream, names.prefix)
  after(async () => {
    const nc = await connect({ servers: NATS_URL })
    await (await jetstreamManager(nc)).streams.delete(target.stream).catch(() => undefined)
    await nc.close()
  })

  it('an existing witness stream that allows deletes is refused', async () => {
    const nc = await connect({ servers: NATS_URL })
    try {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: target.stream, subjects: [`${target.subjectPrefix}.>`] })
      await assert.rejects(ensureWitnessStream(jsm, target), /deny_delete|deny_purge|delete/i)
    } finally {
      await nc.close()
    }
  })
})
