/**
 * The master key that wraps the data subjects' keys (README "Personal data and erasure"):
 * `PERSONAL_DATA_KEY` (32 bytes, base64), or else the file `personal-data.key` in
 * `DATA_DIR`, generated (mode 0600) by the server's first start. The CLI reads the same
 * settings and never generates one: a second, different key would make the subject keys
 * the server wrapped unreadable.
 */

import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AuditedError } from 'audited'
import { createKeyFile } from './key-file.js'

export interface PersonalDataSettings {
  /** `PERSONAL_DATA_KEY`, checked; absent: the key file in `dataDir`. */
  readonly masterKey?: string
  /** `DATA_DIR` (default `./data`). */
  readonly dataDir: string
}

export const MASTER_KEY_FILE = 'personal-data.key'

const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/

function checked(text: string, source: string, name: 'PERSONAL_DATA_KEY' | 'DATA_DIR'): string {
  if (!BASE64_32.test(text) || Buffer.from(text, 'base64').length !== 32) {
    throw new AuditedError(
      'validation',
      `${source} is not a personal-data master key (32 random bytes in base64, e.g. \`openssl rand -base64 32\`).`,
      { details: { name } },
    )
  }
  return text
}

/** `PERSONAL_DATA_KEY` and `DATA_DIR` from the environment; a malformed key is a `validation` error. */
export function personalDataSettings(env: NodeJS.ProcessEnv): PersonalDataSettings {
  const text = env.PERSONAL_DATA_KEY?.trim()
  return {
    dataDir: env.DATA_DIR || './data',
    ...(text ? { masterKey: checked(text, 'PERSONAL_DATA_KEY', 'PERSONAL_DATA_KEY') } : {}),
  }
}

export interface LoadedMasterKey {
  /** The key, base64 (what `createAuditor({ personalData: { masterKey } })` takes). */
  readonly masterKey: string
  /** The file the key was generated into by this call (the server says so once). */
  readonly generated?: string
}

/**
 * The master key: the configured one, else the key file; when there is neither, a new key
 * is generated into the file (`create`, the server) or undefined is returned (the CLI:
 * commands that need it say so). Two processes starting at once end up with the same key
 * (written whole under a temporary name, linked into place only if absent).
 */
export function loadMasterKey(settings: PersonalDataSettings, create: true): LoadedMasterKey
export function loadMasterKey(settings: PersonalDataSettings, create: false): LoadedMasterKey | undefined
export function loadMasterKey(settings: PersonalDataSettings, create: boolean): LoadedMasterKey | undefined {
  if (settings.masterKey !== undefined) return { masterKey: settings.masterKey }
  const file = join(settings.dataDir, MASTER_KEY_FILE)
  const existing = readKeyFile(file)
  if (existing !== undefined) return { masterKey: existing }
  if (!create) return undefined
  const text = randomBytes(32).toString('base64')
  let written: 'created' | 'exists'
  try {
    written = createKeyFile(settings.dataDir, file, text)
  } catch (e) {
    throw new AuditedError(
      'validation',
      `Cannot write the personal-data master key to ${file}: ${(e as Error).message} (set DATA_DIR to a writable directory, or PERSONAL_DATA_KEY).`,
      { details: { name: 'DATA_DIR' }, cause: e },
    )
  }
  if (written === 'exists') {
    const theirs = readKeyFile(file) // another process generated it first
    if (theirs !== undefined) return { masterKey: theirs }
    throw new AuditedError('validation', `${file} appeared while the key was generated, holding no key.`, {
      details: { name: 'DATA_DIR' },
    })
  }
  return { masterKey: text, generated: file }
}

/** The key in `file`, or undefined when there is no such file. */
function readKeyFile(file: string): string | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new AuditedError(
      'validation',
      `Cannot read the personal-data master key ${file}: ${(e as Error).message}.`,
      {
        details: { name: 'DATA_DIR' },
        cause: e,
      },
    )
  }
  return checked(text.trim(), file, 'DATA_DIR')
}
