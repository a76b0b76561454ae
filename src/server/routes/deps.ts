import type { Auditor } from '../../audit/auditor.js'
import type { AuditedDatabase } from '../../db/open-database.js'

/** What every route plugin gets. */
export interface RouteDeps {
  readonly db: AuditedDatabase
  readonly auditor: Auditor
}
