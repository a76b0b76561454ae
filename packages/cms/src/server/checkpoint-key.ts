/**
 * The key that signs the tenant logs' checkpoints (README "Tamper evidence"):
 * `CHECKPOINT_SIGNING_KEY` (a `PRIVATE+KEY+<name>+<id>+<key>` text), or else the file
 * `checkpoint-signing.key` in `DATA_DIR`, generated (mode 0600) by the server's first start.
 * The CLI's `verify` derives its verifier key from the same settings, never generating one.
 */

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AuditedError, generateSigningKey, type NoteSigner, signerFromKey } from 'audited'
import { createKeyFile } from './key-file.js'

/** The checkpoint settings from the environment. */
export interface CheckpointSettings {
  /** `CHECKPOINT_SIGNING_KEY`, parsed; absent: the key file in `dataDir`. */
  readonly signingKey?: NoteSigner
  /** `CHECKPOINT_KEY_NAME`: the name (and origin prefix) of a generated key. */
  readonly keyName: string
  /** `DATA_DIR`: where the generated key is kept. */
  readonly dataDir: string
  /** `CHECKPOINT_LOG`: the witness file every new checkpoint is appended to. */
  readonly witnessFile?: string
}

export const KEY_FILE = 'checkpoint-signing.key'

/** A key name as signed notes allow it: no whitespace, no `+`. */
const KEY_NAME = /^[^+\s]{1,100}$/u

/** `CHECKPOINT_SIGNING_KEY`, `CHECKPOINT_KEY_NAME` (default `audited`), `DATA_DIR` (default
 * `./data`), `CHECKPOINT_LOG`. A bad key text or name is a `validation` error naming it. */
export function checkpointSettings(env: NodeJS.ProcessEnv): CheckpointSettings {
  const keyName = env.CHECKPOINT_KEY_NAME || 'audited'
  if (!KEY_NAME.test(keyName)) {
    throw new AuditedError(
      'validation',
      'CHECKPOINT_KEY_NAME must be 1 to 100 characters without spaces or "+" (e.g. audited or cms.example.com).',
      { details: { name: 'CHECKPOINT_KEY_NAME' } },
    )
  }
  const text = env.CHECKPOINT_SIGNING_KEY?.trim()
  return {
    keyName,
    dataDir: env.DATA_DIR || './data',
    ...(text ? { signingKey: parseSigningKey(text, 'CHECKPOINT_SIGNING_KEY') } : {}),
    ...(env.CHECKPOINT_LOG ? { witnessFile: env.CHECKPOINT_LOG } : {}),
  }
}

function parseSigningKey(text: string, source: string): NoteSigner {
  try {
    return signerFromKey(text)
  } catch (e) {
    throw new AuditedError(
      'validation',
      `${source} is not a checkpoint signing key (PRIVATE+KEY+<name>+<id>+<key>, as \`audited serve\` generates): ${(e as Error).message}.`,
      { details: { name: source }, cause: e },
    )
  }
}

export interface LoadedKey {
  readonly signer: NoteSigner
  /** The file the key was generated into by this call (print its verifier key once). */
  readonly generated?: string
}

/**
 * The signing key: the configured one, else the key file; when there is neither, a new key
 * is generated into the file (`create`, the server) or it is a `validation` error (the CLI).
 * Two processes starting at once end up with the same key: the file is written whole under
 * a temporary name and linked into place only if absent.
 */
export function loadSigningKey(settings: CheckpointSettings, create: boolean): LoadedKey {
  if (settings.signingKey !== undefined) return { signer: settings.signingKey }
  const file = join(settings.dataDir, KEY_FILE)
  const existing = readKeyFile(file)
  if (existing !== undefined) return { signer: existing }
  if (!create) {
    throw new AuditedError(
      'validation',
      `No checkpoint signing key: CHECKPOINT_SIGNING_KEY is unset and ${file} does not exist (set DATA_DIR to the server's data directory, or pass --key <verifier key>).`,
      { details: { name: 'CHECKPOINT_SIGNING_KEY' } },
    )
  }
  const text = generateSigningKey(settings.keyName)
  let written: 'created' | 'exists'
  try {
    written = createKeyFile(settings.dataDir, file, text)
  } catch (e) {
    throw new AuditedError(
      'validation',
      `Cannot write the checkpoint signing key to ${file}: ${(e as Error).message} (set DATA_DIR to a writable directory, or CHECKPOINT_SIGNING_KEY).`,
      { details: { name: 'DATA_DIR' }, cause: e },
    )
  }
  if (written === 'exists') {
    const theirs = readKeyFile(file) // another process generated it first
    if (theirs !== undefined) return { signer: theirs }
    throw new AuditedError('validation', `${file} appeared while the key was generated, holding no key.`, {
      details: { name: 'DATA_DIR' },
    })
  }
  return { signer: signerFromKey(text), generated: file }
}

/** The key in `file`, or undefined when there is no such file. */
function readKeyFile(file: string): NoteSigner | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new AuditedError(
      'validation',
      `Cannot read the checkpoint signing key ${file}: ${(e as Error).message}.`,
      {
        details: { name: 'DATA_DIR' },
        cause: e,
      },
    )
  }
  return parseSigningKey(text.trim(), file)
}
