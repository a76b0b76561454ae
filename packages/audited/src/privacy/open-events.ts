import type { ChangeEvent, JsonObject } from '../audit/change-event.js'
import { decryptValue, envelopeKeyId } from './field-crypto.js'
import { jsonKeyAad } from './personal-json.js'
import type { SubjectKeys } from './subject-keys.js'

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A JSON object with the envelopes among its keys opened (`personalJson`), or itself. */
async function openInner(
  keys: SubjectKeys,
  tenantId: string | null,
  column: string,
  inner: JsonObject,
): Promise<JsonObject> {
  let out: JsonObject | undefined
  for (const [k, value] of Object.entries(inner)) {
    const keyId = envelopeKeyId(value)
    if (keyId === undefined) continue
    out ??= { ...inner }
    out[k] = decryptValue(
      value as string,
      await keys.byId(keyId, tenantId),
      jsonKeyAad(column, k),
    ) as JsonObject[string]
  }
  return out ?? inner
}

async function openState(
  keys: SubjectKeys,
  tenantId: string | null,
  state: JsonObject | null,
): Promise<JsonObject | null> {
  if (state === null) return null
  let out: JsonObject | undefined
  for (const [column, value] of Object.entries(state)) {
    let opened: JsonObject[string] = value
    if (isObject(value)) opened = await openInner(keys, tenantId, column, value)
    else {
      const keyId = envelopeKeyId(value)
      if (keyId !== undefined)
        opened = decryptValue(value as string, await keys.byId(keyId, tenantId), column) as JsonObject[string]
    }
    if (opened === value) continue
    out ??= { ...state }
    out[column] = opened
  }
  return out ?? state
}

/**
 * Events as readers see them: personal values decrypted, or `"[erased]"` once their
 * subject's key is destroyed. The stored form (what the feed, the sealer and the verifier
 * read, and what webhooks, SSE and NATS carry) keeps the ciphertext.
 */
export async function openEvents<E extends ChangeEvent>(
  keys: SubjectKeys | undefined,
  events: E[],
): Promise<E[]> {
  if (keys === undefined) return events
  return Promise.all(
    events.map(async (e) => {
      if (e.oldValues === null && e.newValues === null) return e
      const oldValues = await openState(keys, e.tenantId, e.oldValues)
      const newValues = await openState(keys, e.tenantId, e.newValues)
      return oldValues === e.oldValues && newValues === e.newValues ? e : { ...e, oldValues, newValues }
    }),
  )
}
