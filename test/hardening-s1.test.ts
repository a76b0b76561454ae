/**
 * S1 (issue 7): compiled statements belong to an entity definition, not to a table name.
 * Two entities over one table (one tenant-scoped, one not; with and without a version
 * column, redaction, a status column) must each run their own SQL, whichever is used first.
 */
import assert from 'node:assert/strict'
import { it } from 'node:test'
import {
  type AuditContext,
  createAuditor,
  defineEntity,
  type Entity,
  isAuditedError,
  REDACTED,
} from '../packages/audited/src/index.js'
import { ctx, forEachDialect, newId, PERSONAL_DATA, type Post, rowsOf } from './setup.js'

interface Variant {
  readonly name: string
  readonly entity: Entity<Post>
  readonly tenant: boolean
  readonly version: boolean
  readonly redact: boolean
}

const variant = (tenant: boolean, version: boolean, redact: boolean): Variant => ({
  name: `tenant=${tenant},version=${version},redact=${redact}`,
  tenant,
  version,
  redact,
  entity: defineEntity<Post>({
    table: 'posts',
    ...(tenant ? { tenantColumn: 'tenant_id' } : {}),
    ...(version ? { versionColumn: 'version' } : {}),
    ...(redact ? { redact: ['secret'], statusColumn: 'status' } : {}),
  }),
})

const VARIANTS: readonly Variant[] = [false, true].flatMap((t) =>
  [false, true].flatMap((v) => [false, true].map((r) => variant(t, v, r))),
)

const evil: AuditContext = { ...ctx, tenantId: 'evil' }

/** Values a create needs for this variant (unmanaged columns must be given). */
function createValues(v: Variant, id: string, tenant: string): Partial<Post> {
  return {
    id,
    title: `t-${id}`,
    secret: 's3cret',
    ...(v.tenant ? {} : { tenant_id: tenant }),
    ...(v.version ? {} : { version: 7 }),
  }
}

forEachDialect('S1: statements are per entity definition', (f) => {
  it('S1: two entities over one table, every ordered pair of options: each runs its own SQL', async () => {
    for (const first of VARIANTS) {
      for (const second of VARIANTS) {
        if (first === second) continue
        const label = `${first.name} then ${second.name}`
        // A fresh auditor: its statement cache is empty, so `first` compiles the shapes.
        const auditor = createAuditor({ personalData: PERSONAL_DATA, db: f.db })
        const warm = newId()
        await auditor.create(first.entity, createValues(first, warm, 'acme'), ctx)
        await auditor.update(first.entity, warm, { title: `u-${warm}` }, ctx)
        await auditor.update(first.entity, warm, { body: 'x' }, ctx, {
          expectedVersion: first.version ? 2 : 7,
        })
        await auditor.delete(first.entity, warm, ctx)

        // `second` on acme's row
        const id = newId()
        const created = await auditor.create(second.entity, createValues(second, id, 'acme'), ctx)
        assert.equal(created.tenant_id, 'acme', label)
        assert.equal(created.version, second.version ? 1 : 7, label)
        const updated = await auditor.update(second.entity, id, { title: `u-${id}` }, ctx)
        assert.equal(updated.version, second.version ? 2 : 7, label)
        const [event] = (await auditor.events.history(second.entity, id)).events.slice(-1)
        assert.equal(event!.newValues!.secret, second.redact ? REDACTED : 's3cret', label)

        if (second.tenant) {
          // Another tenant can neither read-modify-write nor delete acme's row.
          for (const write of [
            () => auditor.update(second.entity, id, { title: 'hijacked' }, evil),
            () => auditor.update(second.entity, id, { title: 'hijacked' }, evil, { expectedVersion: 2 }),
            () => auditor.delete(second.entity, id, evil),
            () => auditor.delete(second.entity, id, evil, { expectedVersion: 2 }),
          ]) {
            await assert.rejects(write, (e) => isAuditedError(e) && e.code === 'not_found', label)
          }
          // A create by `evil` lands in `evil`, not in acme; createMany reads back within the tenant.
          const theirs = newId()
          const [made] = await auditor.createMany(second.entity, [createValues(second, theirs, 'evil')], evil)
          assert.equal(made!.tenant_id, 'evil', label)
        }
        const row = (await rowsOf(f.db, 'posts')).find((r) => r.id === id)
        assert.equal(row?.title, `u-${id}`, label)
        assert.equal(row?.tenant_id, 'acme', label)
        const expected = second.version ? { expectedVersion: 2 } : { expectedVersion: 7 }
        if (second.version) {
          await assert.rejects(
            () => auditor.delete(second.entity, id, ctx, { expectedVersion: 1 }),
            (e) => isAuditedError(e) && e.code === 'conflict',
            label,
          )
        }
        await auditor.delete(second.entity, id, ctx, second.version ? expected : {})
      }
    }
  })
})
