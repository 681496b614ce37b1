/**
 * verification:verify — trade a code for a single-use verificationToken (valid tokenTtl, 600 s) bound to
 * the code's purpose, 3PID and account.
 * - invalid_code {attemptsLeft}: a wrong code costs one of its 5 attempts; at 0 the code is dead, and an
 *   unknown (dead, used, replaced) verificationID answers attemptsLeft 0
 * - code_expired after verification.codeTtl
 * - compared in constant time; of concurrent right answers exactly one wins (one transaction decides)
 * - purpose confirm: the pending account is activated and the 3PID verified by the same transaction;
 *   the token is then not needed for anything
 * - a right code marks that 3PID verified on its account, and resets the account's code-failure count
 */
import { generateVerificationToken, tokenTtl } from '../../accounts/verification.ts'
import { hashToken } from '../../auth/tokens.ts'
import { ProtocolError } from '../../errors.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'verification:verify',
  auth: 'none',
  async handle(ctx) {
    const { verificationID, code } = ctx.payload
    const now = ctx.clock.now()
    const verificationToken = generateVerificationToken()
    const token = { hash: hashToken(verificationToken), expiresAt: now + tokenTtl * 1000 }
    const result = await ctx.store.verifications.attempt(verificationID, code, token, now)
    switch (result.outcome) {
      case 'unknown':
        throw new ProtocolError('invalid_code', { attemptsLeft: 0 })
      case 'expired':
        throw new ProtocolError('code_expired')
      case 'wrong':
        throw new ProtocolError('invalid_code', { attemptsLeft: result.attemptsLeft })
      case 'ok':
        return { verificationToken, expiresIn: tokenTtl }
    }
  },
})
