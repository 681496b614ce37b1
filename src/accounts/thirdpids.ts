// The thirdPID field of a request, read into its canonical form; whether an account holds a 3PID proven.
import { invalidField } from '../errors.ts'
import { parseThirdPID, type ThirdPID } from '../identifiers.ts'
import type { Account } from '../store/accounts.ts'

/**
 * The canonical 3PID of a request's `thirdPID`, or invalid_payload at /payload/thirdPID: the schema
 * bounds the string, only parseThirdPID can tell whether it is an email address or a phone number.
 */
export function requireThirdPID(input: string): ThirdPID {
  const thirdPID = parseThirdPID(input)
  if (!thirdPID) throw invalidField('/payload/thirdPID', 'is not a valid email address or phone number')
  return thirdPID
}

/**
 * Whether the account holds `thirdPID` proven (a code sent there was entered, or a signup token or a
 * binding proved it). Only a proven address reserves itself against other accounts and receives login
 * and reset codes: an unproven one may be someone else's (pre-account hijacking, OWASP ASVS V6).
 */
export function holdsVerified(account: Pick<Account, 'thirdPIDs'> | undefined, thirdPID: ThirdPID): boolean {
  return account?.thirdPIDs.some((t) => t.verified && t.type === thirdPID.type && t.value === thirdPID.value) ?? false
}
