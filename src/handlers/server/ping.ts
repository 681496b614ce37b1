/**
 * server:ping — liveness check on an open socket; answers `{}`. No auth, no side effects.
 */
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'server:ping',
  auth: 'none',
  async handle() {
    return {}
  },
})
