/**
 * profile:update — merge claims into the caller's profile; null removes a field. Answers the updated own profile.
 * - the schema admits only writable claims: userID, username, createdAt, role, `__proto__` … are invalid_payload
 * - birthdate must be a real calendar date (format "date")
 */
import { toProfile } from '../../accounts/profile-view.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'
import type { ProfileClaims } from '../../types/schemas.ts'

export default defineHandler({
  type: 'profile:update',
  auth: 'required',
  async handle({ payload, store, conn, clock }) {
    const account = await store.accounts.byID(conn.session!.accountID)
    if (!account) throw new ProtocolError('not_found')
    // Read and write run without yielding to I/O (better-sqlite3 is synchronous), so two updates cannot interleave.
    const updated = await store.accounts.setProfile(account.id, mergeClaims(account.profile, payload), clock.now())
    return toProfile(updated, { owner: true })
  },
})

/** A new object (fromEntries defines keys, never invokes a `__proto__` setter); null deletes. */
function mergeClaims(stored: ProfileClaims, patch: ProfileClaims): ProfileClaims {
  const merged = new Map(Object.entries(stored))
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) merged.delete(key)
    else merged.set(key, value)
  }
  return Object.fromEntries(merged) as ProfileClaims
}
