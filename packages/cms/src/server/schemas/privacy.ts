/** Data subjects as the API shows them: what an erasure did, what an access request returns. */
import { type TSchema, Type } from 'typebox'
import { ref } from './envelope.js'

const Count = Type.Integer({ minimum: 0 })

const SubjectErasure = Type.Object(
  {
    subjectId: Type.String(),
    users: Type.Integer({ minimum: 0, maximum: 1, description: 'User accounts blanked' }),
    entries: Type.Integer({ minimum: 0, description: 'Entries whose personal fields were removed' }),
    sessions: Type.Integer({ minimum: 0, description: "The user's login sessions revoked" }),
    keys: Type.Integer({
      minimum: 0,
      description: 'Subject keys destroyed: the history now reads "[erased]"',
    }),
  },
  { $id: 'SubjectErasure', additionalProperties: false },
)

const SubjectExport = Type.Object(
  {
    subjectId: Type.String(),
    count: Count,
    events: Type.Array(ref('ChangeEvent'), {
      description: 'Every event holding a personal value of the subject, decrypted, in commit order',
    }),
  },
  { $id: 'SubjectExport', additionalProperties: false },
)

export const PRIVACY_SCHEMAS: readonly TSchema[] = [SubjectErasure, SubjectExport]
