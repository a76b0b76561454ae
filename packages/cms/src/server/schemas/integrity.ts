/** The tamper-evident logs as the API shows them: checkpoints, proofs, the verifier key. */
import { type TSchema, Type } from 'typebox'
import { ref } from './envelope.js'

const Hash = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256, hex' })
const TreeSize = Type.Integer({ minimum: 0 })

const Checkpoint = Type.Object(
  {
    treeSize: TreeSize,
    rootHash: Hash,
    createdAt: Type.String({ format: 'date-time' }),
    note: Type.String({
      description:
        'The C2SP signed note: origin `<key name>/t/<tenant id>`, tree size, base64 root, `time …`, `prev <previous checkpoint size>`, then the Ed25519 signature line',
    }),
  },
  { $id: 'Checkpoint', additionalProperties: false },
)

const CheckpointList = Type.Object(
  { checkpoints: Type.Array(ref('Checkpoint'), { description: 'Oldest first' }) },
  { $id: 'CheckpointList', additionalProperties: false },
)

const ConsistencyProof = Type.Object(
  {
    from: TreeSize,
    to: TreeSize,
    proof: Type.Array(Hash, { description: 'RFC 6962 consistency proof, hex' }),
  },
  { $id: 'ConsistencyProof', additionalProperties: false },
)

const EventProof = Type.Object(
  {
    eventId: Type.String(),
    tenantId: Type.Union([Type.String(), Type.Null()]),
    leafIndex: Type.Integer({ minimum: 0 }),
    treeSize: TreeSize,
    leafHash: Hash,
    path: Type.Array(Hash, { description: 'RFC 6962 inclusion path, leaf to root, hex' }),
    checkpoint: ref('Checkpoint'),
  },
  { $id: 'EventProof', additionalProperties: false },
)

const CheckpointKey = Type.Object(
  {
    keyName: Type.String(),
    verifierKey: Type.String({ description: '`<name>+<key id>+<base64>` (Go sumdb/note verifier key)' }),
    publicKey: Type.String({ description: 'The 32-byte Ed25519 public key, base64' }),
    algorithm: Type.Literal('ed25519'),
  },
  { $id: 'CheckpointKey', additionalProperties: false },
)

export const INTEGRITY_SCHEMAS: readonly TSchema[] = [
  Checkpoint,
  CheckpointList,
  ConsistencyProof,
  EventProof,
  CheckpointKey,
]
