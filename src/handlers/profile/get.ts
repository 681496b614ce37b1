/**
 * profile:get — a profile: without userID the caller's own (every field, contacts unblurred),
 * with one that user's public view (contract §5); the caller's own userID gives the owner's view.
 * - auth_required without userID on an anonymous connection
 * - not_found for an unknown user ID or an account that is not active
 * - the owner's view lists the linked identity providers (providers: [{providerID, sub, email?}]), absent when none
 * - a look-up by userID takes a lookup_ip token (per-IP, like check_account); the own profile none
 */
import { canonicalUserID, ownerProfile, toProfile } from '../../accounts/profile-view.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'profile:get',
  // Anyone may read a public profile; only the "own profile" form needs a session (checked below).
  auth: 'none',
  cost: (payload) => (payload.userID === undefined ? 0 : 1),
  async handle({ payload, store, conn }) {
    const session = conn.session
    if (payload.userID === undefined && !session) throw new ProtocolError('auth_required')
    const account =
      payload.userID === undefined ? await store.accounts.byID(session!.accountID) : await store.accounts.byUserID(canonicalUserID(payload.userID))
    if (!account || account.status !== 'active') throw new ProtocolError('not_found')
    const owner = account.id === session?.accountID
    const profile = owner ? ownerProfile(account) : toProfile(account, { owner })
    if (owner) {
      const links = await store.providers.links(account.id)
      if (links.length > 0) return { ...profile, providers: links.map((l) => ({ providerID: l.providerID, sub: l.sub, ...(l.email !== null && { email: l.email }) })) }
    }
    return profile
  },
})
