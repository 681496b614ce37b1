/**
 * verification:request — send a one-time code to a 3PID for one purpose; reply with its verificationID.
 * - addressed by `thirdPID`, by `username` + `channel` (that account's 3PID of that type), or by `channel`
 *   alone (the caller's own; auth_required when anonymous); not_found when that account or 3PID is missing
 * - signup: no account may hold the 3PID verified (id_exists; reg_disabled when registration is
 *   closed); login, reset_password: an account must hold it verified (not_found: an unproven address
 *   opens nothing, it may be someone else's); confirm: a pending account must use it (not_found);
 *   bind 🔒: no other account may hold it verified (id_exists); sudo 🔒: it must be the caller's (not_found)
 * - an unverified claim reserves nothing: another account's unproven 3PID counts as free
 * - an expired pending account holding the 3PID is purged first, so it no longer counts
 * - ratelimit_exceed from the destination rules (retryAfter) or the account's code lock
 * - replaces the destination's live code for that purpose; code and message commit together
 * - privacy.revealAccounts false: login and reset_password never answer not_found; a missing account
 *   or 3PID gets a decoy reply (src/accounts/decoy.ts) and nothing is sent
 */
import { issueCode } from '../../accounts/verification.ts'
import { unlessStale } from '../../accounts/verification-signup.ts'
import { holdsVerified } from '../../accounts/thirdpids.ts'
import { decoyCode } from '../../accounts/decoy.ts'
import { ProtocolError, invalidField } from '../../errors.ts'
import { defineHandler, type Context } from '../../handler.ts'
import { normaliseUsername, parseThirdPID, type ThirdPID } from '../../identifiers.ts'
import type { Account } from '../../store/accounts.ts'

type Ctx = Context<'verification:request'>

export default defineHandler({
  type: 'verification:request',
  auth: 'none',
  async handle(ctx) {
    const { purpose } = ctx.payload
    const session = ctx.conn.session
    if ((purpose === 'bind' || purpose === 'sudo') && !session) throw new ProtocolError('auth_required')
    const hide = !ctx.config.privacy.revealAccounts && (purpose === 'login' || purpose === 'reset_password')
    let destination: Awaited<ReturnType<typeof resolveDestination>>
    try {
      destination = await resolveDestination(ctx)
    } catch (error) {
      const { username, channel } = ctx.payload
      if (hide && error instanceof ProtocolError && error.errID === 'not_found' && username !== undefined && channel !== undefined) {
        return decoyCode(ctx, { username: normaliseUsername(username) ?? username, channel }, purpose)
      }
      throw error
    }
    const { thirdPID, owner } = destination

    let accountID: string | null
    switch (purpose) {
      case 'signup':
        if (ctx.config.registration.mode === 'closed') throw new ProtocolError('reg_disabled')
        if (holdsVerified(await unlessStale(ctx, owner), thirdPID)) throw new ProtocolError('id_exists')
        accountID = null
        break
      case 'login':
      case 'reset_password':
        if (!owner || !holdsVerified(owner, thirdPID)) {
          if (hide) return decoyCode(ctx, { thirdPID }, purpose)
          throw new ProtocolError('not_found')
        }
        accountID = owner.id
        break
      case 'confirm':
        if (owner?.status !== 'pending') throw new ProtocolError('not_found')
        accountID = owner.id
        break
      case 'bind': {
        const holder = await unlessStale(ctx, owner)
        if (holder && holder.id !== session!.accountID && holdsVerified(holder, thirdPID)) throw new ProtocolError('id_exists')
        accountID = session!.accountID
        break
      }
      case 'sudo':
        if (owner?.id !== session!.accountID) throw new ProtocolError('not_found')
        accountID = session!.accountID
        break
    }
    return issueCode(ctx, { purpose, thirdPID, accountID })
  },
})

/** The 3PID the code goes to and the account using it, if any. */
async function resolveDestination(ctx: Ctx): Promise<{ thirdPID: ThirdPID; owner: Account | undefined }> {
  const { payload, store } = ctx
  if (payload.thirdPID !== undefined) {
    const thirdPID = parseThirdPID(payload.thirdPID)
    if (!thirdPID) throw invalidField('/payload/thirdPID', 'is not a valid email address or phone number')
    return { thirdPID, owner: await store.accounts.byThirdPID(thirdPID) }
  }
  let owner: Account | undefined
  if (payload.username !== undefined) {
    const username = normaliseUsername(payload.username)
    owner = username === null ? undefined : await store.accounts.byUsername(username)
  } else {
    if (!ctx.conn.session) throw new ProtocolError('auth_required')
    owner = await store.accounts.byID(ctx.conn.session.accountID)
  }
  const bound = owner?.thirdPIDs.find((t) => t.type === payload.channel)
  if (!owner || !bound) throw new ProtocolError('not_found')
  return { thirdPID: { type: bound.type, value: bound.value }, owner }
}
