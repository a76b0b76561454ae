import type { Kysely } from 'kysely'
import { BoundedMap } from '../core/bounded-map.js'
import { AuditedError } from '../core/errors.js'
import { randomPool } from '../core/random-pool.js'
import type { Dialect, Statement } from '../db/dialect.js'
import type { Transaction } from '../db/transaction.js'
import { open, seal } from './field-crypto.js'

/** How long a process keeps a subject's key for writes after reading it (ms); reads check
 * every time (see forRead). */
const CACHE_MS = 30_000
/** Key ids per read query. */
const READ_CHUNK = 500
/** Keys a process keeps cached, per map. */
const CACHE_ENTRIES = 10_000
const TABLE = 'audited_subject_keys'

/** The key for an envelope of an event of `tenantId`; undefined: erased, or not that tenant's. */
export type ReadKeys = (keyId: string, tenantId: string | null) => Uint8Array | undefined

export interface SubjectKey {
  readonly keyId: string
  readonly key: Uint8Array
}

const subjectKey = (tenantId: string | null, subjectId: string) => `${tenantId ?? ''}\u0000${subjectId}`

/** The master key from configuration: 32 bytes, or their base64. */
export function masterKeyOf(value: string | Uint8Array): Uint8Array {
  const key = typeof value === 'string' ? Buffer.from(value, 'base64') : value
  if (
    key.length !== 32 ||
    (typeof value === 'string' && Buffer.from(key).toString('base64') !== value.trim())
  )
    throw new AuditedError('validation', 'personalData.masterKey must be 32 bytes (or their base64).')
  return key
}

/**
 * Data keys of data subjects: created inside the first write that needs one (stored with
 * its COMMIT), read through a short cache, destroyed by `erase`. Several keys of one
 * subject may exist (two first writes at once); erasing destroys them all.
 */
export class SubjectKeys {
  readonly #master: Uint8Array
  // biome-ignore lint/suspicious/noExplicitAny: the store addresses its own table by name.
  readonly #db: Kysely<any>
  readonly #dialect: Dialect
  readonly #newId: () => string
  readonly #insertSql: string
  readonly #bySubject = new BoundedMap<string, { key: SubjectKey; at: number }>(CACHE_ENTRIES)
  /** Unwrapped keys by id, for reads (whether a key still exists is read every time). */
  readonly #unwrapped = new BoundedMap<string, { wrapped: string; key: Uint8Array }>(CACHE_ENTRIES)

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  constructor(master: Uint8Array, db: Kysely<any>, dialect: Dialect, newId: () => string) {
    this.#master = master
    this.#db = db
    this.#dialect = dialect
    this.#newId = newId
    // Compiled once: its parameters are the five values in this order (see #create). A
    // data key gets memory of its own (randomPool.secret), not a slice of a shared buffer.
    const insert = db
      .insertInto(TABLE)
      .values({ key_id: '', tenant_key: '', subject_id: '', wrapped_key: '', created_at: '' })
      .compile()
    if (insert.parameters.length !== 5) throw new Error('subject key INSERT: expected five parameters')
    this.#insertSql = insert.sql
  }

  #unwrap(keyId: string, wrapped: string): Uint8Array {
    const key = open(this.#master, Buffer.from(wrapped, 'base64'), keyId)
    if (key === undefined)
      throw new AuditedError(
        'internal',
        'A subject key does not open with the master key (the wrong personalData.masterKey?).',
      )
    return key
  }

  /**
   * The subject's key for a write in `tx`: cached, else read in the transaction, else a new
   * one whose INSERT is queued in `deferred` (it commits with the events or not at all).
   * `created` holds keys this transaction made, so it reuses them. `fresh`: the subject is
   * new (a row inserted as its own subject), so no key is looked for.
   */
  async forWrite(
    tx: Transaction,
    deferred: Statement[],
    created: Map<string, SubjectKey>,
    tenantId: string | null,
    subjectId: string,
    fresh = false,
  ): Promise<SubjectKey> {
    const sk = subjectKey(tenantId, subjectId)
    const cached = this.#bySubject.get(sk)
    if (cached !== undefined && Date.now() - cached.at < CACHE_MS) return cached.key
    const mine = created.get(sk)
    if (mine !== undefined) return mine
    if (fresh) return this.#create(deferred, created, sk, tenantId, subjectId)
    let q = this.#db
      .selectFrom(TABLE)
      .select(['key_id', 'wrapped_key'])
      .where('tenant_key', '=', tenantId ?? '')
      .where('subject_id', '=', subjectId)
      .orderBy('key_id')
      .limit(1)
    // A locking read sees keys committed since this transaction's snapshot (MySQL).
    if (this.#dialect.supportsRowLocks) q = q.forUpdate()
    const { sql, parameters } = q.compile()
    const [r] = await tx.run([{ sql, parameters }], { readOnly: true })
    const row = r?.rows[0]
    if (row !== undefined) {
      const key = {
        keyId: String(row.key_id),
        key: this.#unwrap(String(row.key_id), String(row.wrapped_key)),
      }
      this.#remember(sk, key)
      return key
    }
    return this.#create(deferred, created, sk, tenantId, subjectId)
  }

  /** A new key, its INSERT queued with the COMMIT. */
  #create(
    deferred: Statement[],
    created: Map<string, SubjectKey>,
    sk: string,
    tenantId: string | null,
    subjectId: string,
  ): SubjectKey {
    const key = { keyId: this.#newId(), key: randomPool.secret(32) }
    deferred.push({
      sql: this.#insertSql,
      parameters: [
        key.keyId,
        tenantId ?? '',
        subjectId,
        Buffer.from(seal(this.#master, key.key, key.keyId)).toString('base64'),
        new Date().toISOString(),
      ],
    })
    created.set(sk, key)
    return key
  }

  #remember(sk: string, key: SubjectKey): void {
    const at = Date.now()
    this.#bySubject.set(sk, { key, at })
  }

  /** The keys a transaction created, once it committed: cached like keys read. */
  adopt(created: ReadonlyMap<string, SubjectKey>): void {
    for (const [sk, key] of created) this.#remember(sk, key)
  }

  /**
   * The keys of `keyIds` that still exist, for reading events: one query, every time, so a
   * subject erased by any process reads `"[erased]"` from the erase's COMMIT on (only the
   * unwrapping is cached). Each key comes with its tenant: an envelope opens only with a
   * key of its event's tenant (one copied across tenants never opens).
   */
  async forRead(keyIds: ReadonlySet<string>): Promise<ReadKeys> {
    const found = new Map<string, { key: Uint8Array; tenantKey: string }>()
    const ids = [...keyIds]
    for (let i = 0; i < ids.length; i += READ_CHUNK) {
      const rows = await this.#db
        .selectFrom(TABLE)
        .select(['key_id', 'tenant_key', 'wrapped_key'])
        .where('key_id', 'in', ids.slice(i, i + READ_CHUNK))
        .execute()
      for (const row of rows as { key_id: unknown; tenant_key: unknown; wrapped_key: unknown }[]) {
        const keyId = String(row.key_id)
        const wrapped = String(row.wrapped_key)
        let opened = this.#unwrapped.get(keyId)
        if (opened === undefined || opened.wrapped !== wrapped) {
          opened = { wrapped, key: this.#unwrap(keyId, wrapped) }
          this.#unwrapped.set(keyId, opened)
        }
        found.set(keyId, { key: opened.key, tenantKey: String(row.tenant_key) })
      }
    }
    return (keyId, tenantId) => {
      const entry = found.get(keyId)
      return entry !== undefined && entry.tenantKey === (tenantId ?? '') ? entry.key : undefined
    }
  }

  /** Whether the master key opens the subject keys already stored (checked on one; true
   * when there is none yet). */
  async opensStored(): Promise<boolean> {
    const row = await this.#db.selectFrom(TABLE).select(['key_id', 'wrapped_key']).limit(1).executeTakeFirst()
    if (row === undefined) return true
    return (
      open(this.#master, Buffer.from(String(row.wrapped_key), 'base64'), String(row.key_id)) !== undefined
    )
  }

  /** The ids of a subject's keys. */
  async idsOf(tenantId: string | null, subjectId: string): Promise<string[]> {
    const rows = await this.#db
      .selectFrom(TABLE)
      .select('key_id')
      .where('tenant_key', '=', tenantId ?? '')
      .where('subject_id', '=', subjectId)
      .execute()
    return rows.map((r: { key_id: unknown }) => String(r.key_id))
  }

  /** The statement destroying a subject's keys (run it in the erasing transaction). */
  destroyStatement(tenantId: string | null, subjectId: string): Statement {
    const q = this.#db
      .deleteFrom(TABLE)
      .where('tenant_key', '=', tenantId ?? '')
      .where('subject_id', '=', subjectId)
      .compile()
    return { sql: q.sql, parameters: q.parameters }
  }

  /** Forgets a subject's keys in this process (after its erase committed). */
  forget(tenantId: string | null, subjectId: string, keyIds: readonly string[]): void {
    this.#bySubject.delete(subjectKey(tenantId, subjectId))
    for (const id of keyIds) this.#unwrapped.delete(id)
  }
}
