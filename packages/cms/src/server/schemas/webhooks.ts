/** Webhook delivery as the API shows it: deliveries with their attempts, replays, pings. */
import { type TSchema, Type } from 'typebox'
import { ref } from './envelope.js'

const Timestamp = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

const Attempt = Type.Object(
  {
    at: Timestamp,
    outcome: Type.String({ description: 'success, retry, failure, disable or dead' }),
    status: Nullable(Type.Integer({ description: 'HTTP status of the answer, null when none came' })),
    latencyMs: Type.Integer(),
    error: Nullable(Type.String()),
    nextAttemptAt: Nullable(Timestamp),
  },
  { $id: 'WebhookAttempt', additionalProperties: false },
)

const Delivery = Type.Object(
  {
    id: Type.String(),
    eventId: Type.String(),
    type: Type.String({ description: '<table>.<action>' }),
    status: Type.Union(
      ['pending', 'retrying', 'delivering', 'succeeded', 'dead'].map((s) => Type.Literal(s)),
    ),
    attemptCount: Type.Integer(),
    nextAttemptAt: Nullable(Timestamp),
    lastStatus: Nullable(Type.Integer()),
    lastError: Nullable(Type.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    attempts: Type.Array(ref('WebhookAttempt')),
  },
  { $id: 'WebhookDelivery', additionalProperties: false },
)

const Replay = Type.Object(
  { queued: Type.Integer({ description: 'Deliveries queued' }) },
  { $id: 'WebhookReplay', additionalProperties: false },
)

const Ping = Type.Object(
  {
    delivered: Type.Boolean(),
    status: Nullable(Type.Integer()),
    latencyMs: Type.Integer(),
    error: Nullable(Type.String()),
  },
  { $id: 'WebhookPing', additionalProperties: false },
)

const Secret = Type.Object(
  {
    secret: Type.String({ description: 'Shown once: the new signing secret' }),
    previousSecretUntil: Timestamp,
  },
  { $id: 'WebhookSecret', additionalProperties: false },
)

const PublicKey = Type.Object(
  { publicKey: Type.String({ description: 'whpk_ and the base64 raw Ed25519 public key' }) },
  { $id: 'WebhookPublicKey', additionalProperties: false },
)

export const WEBHOOK_SCHEMAS: readonly TSchema[] = [Attempt, Delivery, Replay, Ping, Secret, PublicKey]
