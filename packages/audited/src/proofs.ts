/**
 * `audited/proofs`: checking the tamper-evident logs without a database or Node.js — RFC 6962
 * Merkle proofs, C2SP signed notes and checkpoints, and the leaf bytes of a change event.
 * The explorer computes its "verified" badge with these in the browser.
 */
export {
  type CheckpointFacts,
  type CheckpointSigner,
  openCheckpoint,
  originOf,
  signCheckpoint,
  tenantOfOrigin,
} from './integrity/checkpoints.js'
export { eventLeafBytes, eventLeafHash } from './integrity/leaf.js'
export {
  CompactRange,
  consistencyPath,
  EMPTY_ROOT,
  fromHex,
  inclusionPath,
  type MerkleHasher,
  merkleHasher,
  rootOf,
  sameHash,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from './integrity/merkle.js'
export {
  type Checkpoint,
  formatCheckpoint,
  fromBase64,
  keyId,
  NoteError,
  nobleSignatureCheck,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  type SignatureCheck,
  signNote,
  toBase64,
  type Verifier,
  verifierKey,
} from './integrity/note.js'
