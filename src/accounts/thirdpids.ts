// The thirdPID field of a request, read into its canonical form.
import { invalidField } from '../errors.ts'
import { parseThirdPID, type ThirdPID } from '../identifiers.ts'

/**
 * The canonical 3PID of a request's `thirdPID`, or invalid_payload at /payload/thirdPID: the schema
 * bounds the string, only parseThirdPID can tell whether it is an email address or a phone number.
 */
export function requireThirdPID(input: string): ThirdPID {
  const thirdPID = parseThirdPID(input)
  if (!thirdPID) throw invalidField('/payload/thirdPID', 'is not a valid email address or phone number')
  return thirdPID
}
