/**
 * Review S: `audited verify --against nats://…` with a malformed address is a usage error
 * (`validation`, exit code 2) found before anything connects — not a bare TypeError
 * ("Invalid URL", exit code 1), and not a silent connection to a default server.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAuditedError } from '../packages/audited/src/index.js'
import { prepareVerify } from '../packages/cms/src/cli/verify-command.js'
import { checkpointSettings } from '../packages/cms/src/server/checkpoint-key.js'

const KEY = 'audited+044bd1e5+AWqB7je+EhKjze0I5bFOn8OlIdDYNUDpxHRoK5Tuk2HR'

describe('review S: verify --against nats:// usage errors', () => {
  for (const against of ['nats://h:99999', 'nats://a b', 'nats://', 'nats:///STREAM']) {
    it(`${against} is a validation error`, async () => {
      await assert.rejects(
        prepareVerify({ key: KEY, against }, checkpointSettings({})),
        (e: unknown) => isAuditedError(e) && e.code === 'validation' && /--against/.test(e.message),
      )
    })
  }
})
