import { AuditedError, LogProofs, parseVerifierKey, type StoredCheckpoint, toBase64 } from 'audited'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.js'
import { allow, requirePrincipal } from '../principal.js'
import { AUTHENTICATED, AUTHORIZED, errors, ref } from '../schemas/envelope.js'
import type { RouteDeps } from './deps.js'

const ULID = '^[0-9A-HJKMNP-TV-Z]{26}$'
const TreeSize = (description: string) => Type.Integer({ minimum: 0, description })

const CheckpointsQuery = Type.Object(
  {
    after: Type.Optional(TreeSize('Only checkpoints of a larger tree (default 0)')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (default 100)' })),
  },
  { additionalProperties: false },
)
const ConsistencyQuery = Type.Object(
  {
    from: TreeSize('The older tree size'),
    to: TreeSize('The newer tree size (at most the newest checkpoint)'),
  },
  { additionalProperties: false },
)
const EventParams = Type.Object({ eventId: Type.String({ pattern: ULID }) })

export interface ProofRouteDeps extends RouteDeps {
  /** The verifier key (`<name>+<id>+<base64>`) of the key that signs the checkpoints;
   * absent: `GET /audit/checkpoints/key` answers 404. */
  readonly checkpointKey?: string | undefined
}

/**
 * Routes: the caller's tenant's tamper-evident log — its signed checkpoints, consistency
 * proofs between them, an event's inclusion proof — for `admin` and `auditor`, and the key
 * that signs the checkpoints for any caller. Always the caller's own tenant's log: another
 * tenant's event is `not_found`, as an event not sealed yet (reason `not_sealed`).
 */
export async function auditProofRoutes(app: App, deps: ProofRouteDeps): Promise<void> {
  const readers = { preValidation: allow('admin', 'auditor') }
  const proofs = new LogProofs(deps.db)
  const key = deps.checkpointKey === undefined ? undefined : keyAnswer(deps.checkpointKey)

  app.get(
    '/api/v1/audit/checkpoints/key',
    {
      schema: {
        ...op('getCheckpointKey', 'The Ed25519 key that signs the checkpoints (verify them with it)'),
        response: { 200: ref('CheckpointKey'), ...errors(...AUTHENTICATED, 404) },
      },
    },
    async (request) => {
      requirePrincipal(request)
      if (key === undefined)
        throw new AuditedError('not_found', 'This server has no checkpoint signing key configured.')
      return key
    },
  )

  app.get(
    '/api/v1/audit/checkpoints',
    {
      ...readers,
      schema: {
        ...op(
          'getCheckpoints',
          "The tenant log's signed checkpoints, oldest first, of a tree larger than after",
        ),
        querystring: CheckpointsQuery,
        response: { 200: ref('CheckpointList'), ...errors(...AUTHORIZED) },
      },
    },
    async (request) => {
      const { after = 0, limit = 100 } = request.query
      const list = await proofs.checkpoints(tenantOf(request), after, limit)
      return { checkpoints: list.map(checkpointAnswer) }
    },
  )

  app.get(
    '/api/v1/audit/checkpoints/consistency',
    {
      ...readers,
      schema: {
        ...op('getConsistencyProof', 'A proof that the tree of size to extends the tree of size from'),
        querystring: ConsistencyQuery,
        response: { 200: ref('ConsistencyProof'), ...errors(...AUTHORIZED) },
      },
    },
    async (request) => proofs.consistency(tenantOf(request), request.query.from, request.query.to),
  )

  app.get(
    '/api/v1/audit/events/:eventId/proof',
    {
      ...readers,
      schema: {
        ...op('getEventProof', "An event's inclusion proof against the newest checkpoint"),
        params: EventParams,
        response: { 200: ref('EventProof'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => {
      const p = await proofs.event(request.params.eventId, tenantOf(request))
      return { ...p, checkpoint: checkpointAnswer(p.checkpoint) }
    },
  )
}

const op = (operationId: string, summary: string) => ({ tags: ['audit'], operationId, summary })

function tenantOf(request: FastifyRequest): string {
  return requirePrincipal(request).tenantId
}

function checkpointAnswer(c: StoredCheckpoint) {
  return { treeSize: c.treeSize, rootHash: c.rootHash, createdAt: c.createdAt, note: c.note }
}

function keyAnswer(verifierKey: string) {
  const v = parseVerifierKey(verifierKey)
  return { keyName: v.name, verifierKey, publicKey: toBase64(v.publicKey), algorithm: 'ed25519' as const }
}
