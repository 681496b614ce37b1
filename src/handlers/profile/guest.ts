/**
 * profile:guest — sign in as a new guest account (contract §12): no username, 3PID or password, a raw
 * user ID; this connection becomes its first device.
 * - reg_disabled unless registration.guests is true (and registration is not closed)
 * - charged to register_ip like profile:register → ratelimit_exceed
 * - a guest idle for registration.guestTtl is deleted with its devices (background sweep)
 */
import { signInAsGuest } from '../../accounts/guests.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:guest',
  auth: 'none',
  handle: signInAsGuest,
})
