import { Type } from 'typebox'
import { SUBJECT_ID } from '../../cms/personal-fields.js'
import { eraseSubject, exportSubject } from '../../cms/subject-operations.js'
import type { App } from '../app-type.js'
import { allow } from '../principal.js'
import { callerOf } from '../request-caller.js'
import { AUTHORIZED, errors, ref } from '../schemas/envelope.js'
import type { RouteDeps } from './deps.js'

const op = (operationId: string, summary: string) => ({ tags: ['privacy'], operationId, summary })
const ADMINS = allow('admin')
const SubjectParams = Type.Object({
  id: Type.String({
    pattern: SUBJECT_ID,
    description: "A user's id, or the id a content type's subject field holds (else an entry's id)",
  }),
})

/**
 * Data subjects (README "Personal data and erasure"), admins of the tenant only: an
 * erasure (right to be forgotten) and an access request. 404: the tenant holds nothing of
 * the subject.
 */
export async function subjectRoutes(app: App, deps: RouteDeps): Promise<void> {
  app.post(
    '/api/v1/subjects/:id/erase',
    {
      preValidation: ADMINS,
      schema: {
        ...op(
          'eraseSubject',
          "Erase a data subject: personal fields of the current rows blanked, the subject's key destroyed",
        ),
        params: SubjectParams,
        response: { 200: ref('SubjectErasure'), ...errors(...AUTHORIZED, 404, 409, 413, 422, 429) },
      },
    },
    async (request) => {
      const counts = await eraseSubject(deps, callerOf(request), request.params.id)
      return { subjectId: request.params.id, ...counts }
    },
  )
  app.get(
    '/api/v1/subjects/:id/export',
    {
      preValidation: ADMINS,
      schema: {
        ...op('exportSubject', 'Every event about a data subject, decrypted (an access request)'),
        params: SubjectParams,
        response: { 200: ref('SubjectExport'), ...errors(...AUTHORIZED, 404) },
      },
    },
    async (request) => {
      const events = await exportSubject(deps, callerOf(request), request.params.id)
      return { subjectId: request.params.id, count: events.length, events }
    },
  )
}
