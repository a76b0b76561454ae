/**
 * The "verified" badge, computed here in the browser with `audited/proofs`: the event's leaf
 * hash is recomputed from the event as the API returned it, its inclusion path is checked
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

export async function verifyEvent(event: ChangeEvent): Promise<Verdict> {
  let proof: EventProof
  let key: { verifierKey: string }
  try {
    proof = await api<EventProof>('GET', `/audit/events/${event.eventId}/proof`)
    key = await api<{ verifierKey: string }>('GET', '/audit/checkpoints/key')
  } catch (e) {
    return { ok: false, reason: `no proof yet: ${(e as Error).message}` }
  }
  const leaf = eventLeafHash(event as Parameters<typeof eventLeafHash>[0])
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
