/**
 * Personal keys inside a JSON column (`EntityConfig.personalJson`): where which keys of a
 * row's JSON value are personal depends on the row (a CMS entry's content type says which
 * of its fields are), the entity names the column and a function deciding, per row, the
 * personal keys and whose data they are. Each such key's value is stored in events as an
 * envelope of its own (additional data `<column>.<key>`), so the rest of the JSON value
 * stays readable, diffable and restorable; erasing the subject makes only those keys read
 * `"[erased]"`.
 */
import type { Compilable, Kysely } from 'kysely'
import type { JsonObject } from '../audit/change-event.js'
import { encryptValue } from './field-crypto.js'
import type { SubjectKey } from './subject-keys.js'

/** What `PersonalJson.fields` may use to decide: reads on the database it writes to. */
export interface PersonalReader {
  /** Builds queries (compile them with `read`; never executes them itself). */
  // biome-ignore lint/suspicious/noExplicitAny: the entity addresses tables of its own schema.
  readonly kysely: Kysely<any>
  /** Runs a read: inside the writing transaction during a write, on the pool during `erase`.
   * The same query is answered once per transaction (or erase). */
  read<R = Record<string, unknown>>(query: Compilable): Promise<R[]>
}

/** The personal keys of one row's JSON column, and its data subject. */
export interface PersonalFields {
  /** Keys of the column's object whose values are personal data (absent keys are skipped). */
  readonly keys: readonly string[]
  /** Whose data they are (1 to 255 characters). */
  readonly subject: string
}

export interface PersonalJson {
  /** The JSON column (declared `json` in `columns`). */
  readonly column: string
  /** The personal keys of `row` (a row as the engine hands it out, JSON decoded) and their
   * subject; undefined or no keys: nothing personal in this row. */
  fields(
    row: Record<string, unknown>,
    reader: PersonalReader,
  ): PersonalFields | undefined | Promise<PersonalFields | undefined>
}

/** The additional data of a JSON key's envelope. */
export const jsonKeyAad = (column: string, key: string) => `${column}.${key}`

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `state` with `keys` of `state[column]` encrypted under `key` (null and absent keys skipped). */
export function sealJsonKeys(
  state: JsonObject,
  column: string,
  keys: readonly string[],
  key: SubjectKey,
): JsonObject {
  const inner = state[column]
  if (!isObject(inner)) return state
  let sealed: JsonObject | undefined
  for (const k of keys) {
    if (!Object.hasOwn(inner, k) || inner[k] === null) continue
    sealed ??= { ...inner }
    sealed[k] = encryptValue(key.keyId, key.key, jsonKeyAad(column, k), inner[k])
  }
  return sealed === undefined ? state : { ...state, [column]: sealed }
}

/** A checked subject id (the library's erase and export take the same). */
export function isSubjectId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 255
}

/** Every envelope in a state: top-level columns, and keys one level inside JSON objects. */
export function* envelopesOf(state: JsonObject | null): Generator<{ value: unknown; aad: string }> {
  if (state === null) return
  for (const [column, value] of Object.entries(state)) {
    if (isObject(value)) {
      for (const [k, inner] of Object.entries(value)) yield { value: inner, aad: jsonKeyAad(column, k) }
    } else yield { value, aad: column }
  }
}

/** A `read` answering each distinct query once. */
export function memoRead(run: (query: Compilable) => Promise<Record<string, unknown>[]>) {
  const seen = new Map<string, Promise<Record<string, unknown>[]>>()
  return <R>(query: Compilable): Promise<R[]> => {
    const { sql, parameters } = query.compile()
    const key = `${sql}\u0000${JSON.stringify(parameters, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`
    let answer = seen.get(key)
    if (answer === undefined) {
      answer = run(query)
      seen.set(key, answer)
      answer.catch(() => seen.delete(key))
    }
    return answer as Promise<R[]>
  }
}
