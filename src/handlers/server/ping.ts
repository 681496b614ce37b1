/**
 * server:ping — liveness check on an open socket; answers `{}`. No auth, no side effects.
 */
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'server:ping',
  auth: 'none',
  // Not async: nothing to wait for, so the router answers it without a promise.
  handle() {
    return {}
  },
})
