// Verification tokens (what a right code is traded for) and the 3PID changes they pay for: each token is
// used by the same transaction as the change.
import type { Database } from 'better-sqlite3'
import type { ThirdPID } from '../identifiers.ts'
import { uniqueOrConflict } from './accounts.ts'
import { LastWayIn } from './errors.ts'
import type { TokenMatch, UnbindOutcome, VerificationStore } from './verifications.ts'

type TokenOps = Pick<VerificationStore, 'hasToken' | 'consumeToken' | 'bindThirdPID' | 'unbindThirdPID'> & { prune(now: number): number }

export function createTokenOps(db: Database): TokenOps {
  const tokenWhere = `token_hash = @hash AND purpose = @purpose AND expires_at > @now AND account_id IS @accountID
     AND (@medium IS NULL OR (medium = @medium AND address = @address))`
  const findToken = db.prepare(`SELECT 1 FROM verification_tokens WHERE ${tokenWhere}`)
  const deleteToken = db.prepare(`DELETE FROM verification_tokens WHERE ${tokenWhere}`)
  const deleteMedium = db.prepare<[string, string], { address: string }>('DELETE FROM thirdpids WHERE account_id = ? AND medium = ? RETURNING address')
  const insertThirdPID = db.prepare('INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES (?, ?, ?, 1, ?)')
  const dropClaim = db.prepare<[string, string, string], { account_id: string }>(
    'DELETE FROM thirdpids WHERE medium = ? AND address = ? AND verified = 0 AND account_id <> ? RETURNING account_id',
  )
  const deleteThirdPID = db.prepare('DELETE FROM thirdpids WHERE account_id = ? AND medium = ? AND address = ?')
  // Another 3PID is a way in if a code can go there (it is verified) or the password can be used with it.
  const otherThirdPIDs = db.prepare<[string, string], { n: number }>(
    `SELECT count(*) AS n FROM thirdpids t JOIN accounts a ON a.id = t.account_id
     WHERE t.account_id = ? AND t.medium <> ? AND (t.verified = 1 OR a.password_hash IS NOT NULL)`,
  )
  // A password with a username, or a linked identity provider or ticket issuer, also lets the owner in.
  const selectLoginable = db.prepare<[string], { named: number }>(
    `SELECT ((password_hash IS NOT NULL AND username IS NOT NULL)
       OR EXISTS (SELECT 1 FROM provider_links p WHERE p.account_id = a.id)
       OR EXISTS (SELECT 1 FROM ticket_links k WHERE k.account_id = a.id)) AS named FROM accounts a WHERE a.id = ?`,
  )
  const dropCodesFor = db.prepare('DELETE FROM verification_codes WHERE account_id = ? AND medium = ? AND address = ?')
  const dropTokensFor = db.prepare('DELETE FROM verification_tokens WHERE account_id = ? AND medium = ? AND address = ?')
  const pruneTokens = db.prepare('DELETE FROM verification_tokens WHERE expires_at <= ?')

  const tokenParams = (hash: Buffer, match: TokenMatch, now: number) => ({
    hash,
    purpose: match.purpose,
    accountID: match.accountID,
    medium: match.thirdPID?.type ?? null,
    address: match.thirdPID?.value ?? null,
    now,
  })

  const bind = db.transaction((tokenHash: Buffer, accountID: string, thirdPID: ThirdPID, now: number): boolean => {
    if (deleteToken.run(tokenParams(tokenHash, { purpose: 'bind', accountID, thirdPID }, now)).changes !== 1) return false
    // A replaced address takes its live codes and tokens along: they no longer prove anything about the account.
    for (const { address } of deleteMedium.all(accountID, thirdPID.type)) {
      dropCodesFor.run(accountID, thirdPID.type, address)
      dropTokensFor.run(accountID, thirdPID.type, address)
    }
    // Another account's unverified claim gives way to the proven one (an address nobody proved reserves
    // nothing); a verified holder's (medium, address) primary key refuses it: the whole transaction rolls back.
    for (const { account_id } of dropClaim.all(thirdPID.type, thirdPID.value, accountID)) {
      dropCodesFor.run(account_id, thirdPID.type, thirdPID.value)
      dropTokensFor.run(account_id, thirdPID.type, thirdPID.value)
    }
    insertThirdPID.run(thirdPID.type, thirdPID.value, accountID, now)
    return true
  })

  // "A way to log in" is another 3PID (a code if it is verified, or its password), a password with a username to
  // name it, or a linked provider or ticket issuer.
  const unbind = db.transaction((accountID: string, thirdPID: ThirdPID): UnbindOutcome => {
    const others = otherThirdPIDs.get(accountID, thirdPID.type)?.n ?? 0
    const named = selectLoginable.get(accountID)?.named === 1
    if (deleteThirdPID.run(accountID, thirdPID.type, thirdPID.value).changes !== 1) return 'not_found'
    if (others === 0 && !named) throw new LastWayIn()
    dropCodesFor.run(accountID, thirdPID.type, thirdPID.value)
    dropTokensFor.run(accountID, thirdPID.type, thirdPID.value)
    return 'ok'
  })


  return {
    hasToken: async (hash, match, now) => findToken.get(tokenParams(hash, match, now)) !== undefined,
    consumeToken: async (hash, match, now) => deleteToken.run(tokenParams(hash, match, now)).changes === 1,
    bindThirdPID: async (tokenHash, accountID, thirdPID, now) => uniqueOrConflict(() => bind.immediate(tokenHash, accountID, thirdPID, now)),
    async unbindThirdPID(accountID, thirdPID) {
      try {
        return unbind.immediate(accountID, thirdPID)
      } catch (error) {
        // Thrown inside the transaction so that the delete rolls back.
        if (error instanceof LastWayIn) return 'forbidden'
        throw error
      }
    },
    prune: (now) => pruneTokens.run(now).changes,
  }
}
