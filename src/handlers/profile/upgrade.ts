/**
 * profile:upgrade — turn this guest account into a full one (contract §12) with the fields of
 * profile:register (except loginOnSuccess); the user ID, devices, profile and tokens stay.
 * - forbidden when the account is not a guest (or was upgraded meanwhile)
 * - id_exists, weak_password, invalid_token and invalid_payload as profile:register
 * - verified registration: a signup verificationToken is required; closed: reg_disabled
 * - deviceName renames this device; profile claims merge into the guest's
 */
import { upgradeGuest } from '../../accounts/guests.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:upgrade',
  auth: 'required',
  handle: upgradeGuest,
})
