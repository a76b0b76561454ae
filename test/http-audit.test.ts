/**
 * The audit API and the assets it records (locales, media, webhooks), as one scenario per dialect:
 * each step builds on the state the steps before it left. The steps live in test/http-audit-*.ts.
 */
import { before } from 'node:test'
import { accessSteps } from './http-audit-access.js'
import { eventSteps } from './http-audit-events.js'
import { newTenant, type ScenarioHook, type ScenarioTokens } from './http-audit-support.js'
import { webhookSteps } from './http-audit-webhooks.js'
import { apiToken, forEachHttpDialect } from './http-setup.js'

forEachHttpDialect('http audit and assets', (f) => {
  const t: ScenarioTokens = { auditor: '', viewer: '', editor: '', otherAdmin: '', otherTenant: '' }
  const hook: ScenarioHook = { id: '', secret: '', urls: [] }

  before(async () => {
    t.auditor = await apiToken(f, f.tenantId, 'auditor')
    t.viewer = await apiToken(f, f.tenantId, 'viewer')
    t.editor = await apiToken(f, f.tenantId, 'editor')
    t.otherTenant = await newTenant(f, 'second')
    t.otherAdmin = await apiToken(f, t.otherTenant, 'admin')
  })

  webhookSteps(f, t, hook)
  eventSteps(f, t, hook)
  accessSteps(f, t, hook)
})
