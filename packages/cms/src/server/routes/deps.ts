import type { AuditedDatabase, Auditor } from 'audited'

/** What every route plugin gets. */
export interface RouteDeps {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
}
