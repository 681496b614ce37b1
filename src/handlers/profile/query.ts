/**
 * profile:query — find users by exactly one of username, email, msisdn or userIDs (1..100); public views only.
 * - email/msisdn match only accounts that made that contact public; only active accounts are found
 * - inputs are normalised first; one that cannot be valid simply matches nobody
 * - takes one lookup_ip token per user looked up: one for username/email/msisdn, one per userID
 *   (100 userIDs take 100; a request never takes more than the rule's capacity)
 */
import { canonicalUserID, toProfile } from '../../accounts/profile-view.ts'
import { defineHandler } from '../../handler.ts'
import { normaliseUsername, parseThirdPID } from '../../identifiers.ts'
import type { AccountQuery } from '../../store/accounts.ts'

const maxResults = 100

export default defineHandler({
  type: 'profile:query',
  auth: 'required',
  cost: (payload) => payload.userIDs?.length ?? 1,
  async handle({ payload, store }) {
    const query = toQuery(payload)
    const accounts = query ? await store.accounts.query(query, maxResults) : []
    const users = accounts.map((account) => toProfile(account, { owner: false }))
    return { total: users.length, users }
  },
})

/** The store query, or null when the input cannot match anyone. */
function toQuery(payload: { username?: string; email?: string; msisdn?: string; userIDs?: string[] }): AccountQuery | null {
  if (payload.username !== undefined) {
    const username = normaliseUsername(payload.username)
    return username === null ? null : { username }
  }
  if (payload.email !== undefined) {
    const email = parseThirdPID({ type: 'email', value: payload.email })
    return email === null ? null : { email: email.value }
  }
  if (payload.msisdn !== undefined) {
    const msisdn = parseThirdPID({ type: 'msisdn', value: payload.msisdn })
    return msisdn === null ? null : { msisdn: msisdn.value }
  }
  return payload.userIDs === undefined ? null : { userIDs: payload.userIDs.map(canonicalUserID) }
}
