/**
 * The "verified" badge, computed here in the browser with `audited/proofs`: the event's leaf
 * hash is recomputed from the event as stored (`?stored=true`: personal values encrypted, the
 * form the leaves hash; the event shown must match it but for those values), its inclusion path is checked
 * against the checkpoint's root, and the checkpoint's signature against the published key.
 * Nothing the server says about the result is trusted; only its data is used.
 */
import {
  eventLeafHash,
  fromHex,
  openCheckpoint,
  parseVerifierKey,
  sameHash,
  toHex,
  verifyInclusion,
} from 'audited/proofs'
import { api, type ChangeEvent } from './api.js'

export type Verdict =
  | {
      readonly ok: true
      readonly treeSize: number
      readonly leafIndex: number
      readonly checkpointTime: string
    }
  | { readonly ok: false; readonly reason: string }

interface EventProof {
  leafIndex: number
  treeSize: number
  leafHash: string
  path: string[]
  checkpoint: { treeSize: number; rootHash: string; note: string }
}

const ENVELOPE = /^enc:v1:[0-9A-HJKMNP-TV-Z]{26}:[A-Za-z0-9+/]+={0,2}$/
const isEnvelope = (v: unknown) => typeof v === 'string' && ENVELOPE.test(v)
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** A state as shown (personal values decrypted) against the stored one: equal but where the
 * stored value is an envelope (a personal column, or a personal key of a JSON column). */
function sameState(shown: unknown, stored: unknown): boolean {
  if (!isObject(shown) || !isObject(stored)) return same(shown, stored)
  const keys = new Set([...Object.keys(shown), ...Object.keys(stored)])
  for (const k of keys) {
    const a = shown[k]
    const b = stored[k]
    if (isEnvelope(b)) continue
    if (isObject(a) && isObject(b)) {
      const inner = new Set([...Object.keys(a), ...Object.keys(b)])
      for (const j of inner) if (!isEnvelope(b[j]) && !same(a[j], b[j])) return false
    } else if (!same(a, b)) return false
  }
  return true
}

/** The event as shown matches the stored form the leaf hashes (personal values aside). */
function shownMatches(shown: ChangeEvent, stored: ChangeEvent): boolean {
  const s = shown as unknown as Record<string, unknown>
  const t = stored as unknown as Record<string, unknown>
  for (const k of new Set([...Object.keys(s), ...Object.keys(t)])) {
    if (k === 'oldValues' || k === 'newValues') {
      if (!sameState(s[k], t[k])) return false
    } else if (!same(s[k], t[k])) return false
  }
  return true
}

export async function verifyEvent(event: ChangeEvent): Promise<Verdict> {
  let proof: EventProof
  let key: { verifierKey: string }
  let stored: ChangeEvent
  try {
    proof = await api<EventProof>('GET', `/audit/events/${event.eventId}/proof`)
    key = await api<{ verifierKey: string }>('GET', '/audit/checkpoints/key')
    // The leaves hash the stored form (personal values encrypted), not the decrypted one shown.
    stored = await api<ChangeEvent>('GET', `/audit/events/${encodeURIComponent(event.eventId)}?stored=true`)
  } catch (e) {
    return { ok: false, reason: `no proof yet: ${(e as Error).message}` }
  }
  if (!shownMatches(event, stored))
    return { ok: false, reason: 'the event does not hash to its leaf (it differs from the stored form)' }
  const leaf = eventLeafHash(stored as Parameters<typeof eventLeafHash>[0])
  if (toHex(leaf) !== proof.leafHash) return { ok: false, reason: 'the event does not hash to its leaf' }
  let facts: ReturnType<typeof openCheckpoint>
  try {
    facts = openCheckpoint(proof.checkpoint.note, parseVerifierKey(key.verifierKey))
  } catch (e) {
    return { ok: false, reason: `the checkpoint signature does not verify: ${(e as Error).message}` }
  }
  if (facts.treeSize !== proof.treeSize) return { ok: false, reason: 'the proof is for another tree size' }
  const included = verifyInclusion(
    leaf,
    proof.leafIndex,
    proof.treeSize,
    proof.path.map(fromHex),
    fromHex(facts.rootHash),
  )
  if (!included) return { ok: false, reason: 'the inclusion proof does not lead to the signed root' }
  if (!sameHash(fromHex(facts.rootHash), fromHex(proof.checkpoint.rootHash)))
    return { ok: false, reason: 'the signed root differs from the stated one' }
  return { ok: true, treeSize: proof.treeSize, leafIndex: proof.leafIndex, checkpointTime: facts.time }
}
