import type { ChangeEvent, JsonObject } from '../audit/change-event.js'
import { decryptValue, envelopeKeyId } from './field-crypto.js'
import { envelopesOf, jsonKeyAad } from './personal-json.js'
import type { ReadKeys, SubjectKeys } from './subject-keys.js'

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A JSON object with the envelopes among its keys opened (`personalJson`), or itself. */
function openInner(keys: ReadKeys, tenantId: string | null, column: string, inner: JsonObject): JsonObject {
  let out: JsonObject | undefined
  for (const [k, value] of Object.entries(inner)) {
    const keyId = envelopeKeyId(value)
    if (keyId === undefined) continue
    out ??= { ...inner }
    out[k] = decryptValue(value as string, keys(keyId, tenantId), jsonKeyAad(column, k)) as JsonObject[string]
  }
  return out ?? inner
}

function openState(keys: ReadKeys, tenantId: string | null, state: JsonObject | null): JsonObject | null {
  if (state === null) return null
  let out: JsonObject | undefined
  for (const [column, value] of Object.entries(state)) {
    let opened: JsonObject[string] = value
    if (isObject(value)) opened = openInner(keys, tenantId, column, value)
    else {
      const keyId = envelopeKeyId(value)
      if (keyId !== undefined)
        opened = decryptValue(value as string, keys(keyId, tenantId), column) as JsonObject[string]
    }
    if (opened === value) continue
    out ??= { ...state }
    out[column] = opened
  }
  return out ?? state
}

/**
 * Events as readers see them: personal values decrypted, or `"[erased]"` once their
 * subject's key is destroyed — by this process or any other: the keys are looked up for
 * each call. The stored form (what the feed, the sealer and the verifier read, and what
 * webhooks, SSE and NATS carry) keeps the ciphertext.
 */
export async function openEvents<E extends ChangeEvent>(
  keys: SubjectKeys | undefined,
  events: E[],
): Promise<E[]> {
  if (keys === undefined) return events
  const ids = new Set<string>()
  for (const e of events)
    for (const state of [e.oldValues, e.newValues])
      for (const { value } of envelopesOf(state)) {
        const id = envelopeKeyId(value)
        if (id !== undefined) ids.add(id)
      }
  if (ids.size === 0) return events
  const found = await keys.forRead(ids)
  return events.map((e) => {
    if (e.oldValues === null && e.newValues === null) return e
    const oldValues = openState(found, e.tenantId, e.oldValues)
    const newValues = openState(found, e.tenantId, e.newValues)
    return oldValues === e.oldValues && newValues === e.newValues ? e : { ...e, oldValues, newValues }
  })
}
