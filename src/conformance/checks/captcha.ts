// Captcha (contract §15), where the server has it: server:info features.captcha lists profile:login. A run
// of failed logins under throwaway names spends this address's login budget; then captcha_required
// carries an ALTCHA challenge, a solution (the client library's solver) is admitted once, and reused,
// tampered or garbage solutions are captcha_invalid. Last in the suite: it leaves the address's login
// budget spent.
import { encodeSolution, solveChallenge, type HafniumClient } from '../../client/index.ts'
import { expect, expectError, fail, show } from '../expect.ts'
import { randomName, sleep } from '../harness.ts'
import type { Suite } from '../suite.ts'

/** Failed logins tried before giving up on captcha_required (the shipped login_ip allows 30). */
const maxLogins = 300

export async function captchaGroup(s: Suite): Promise<void> {
  const { h } = s
  const types = (s.info?.features as { captcha?: unknown } | undefined)?.captcha
  const off = !s.info
    ? 'server:info did not answer'
    : !Array.isArray(types)
      ? 'server:info features.captcha is absent: the server does not say it has a captcha step'
      : !types.includes('profile:login')
        ? `server:info features.captcha does not list profile:login (${show(types)}): the suite exercises the captcha on logins`
        : undefined
  let client: HafniumClient | undefined
  let challenge: unknown
  let solved: string | undefined
  // A wrong password for a name nobody has: no per-account rule fires, the handler answers invalid_creds.
  const login = (extra: object = {}) => client!.send({ type: 'profile:login', payload: { username: `cf${randomName(10)}`, password: 'not-the-password-9', ...extra } })

  /**
   * Failed logins until captcha_required; returns that reply's challenge. Used again before each use of a
   * solution: the budget refills meanwhile (a solve takes a while), and a request is charged to its
   * captcha step only while the budget is spent (with tokens left, `captcha` is ignored).
   */
  const spendBudget = async (): Promise<{ challenge: unknown; retryAfter: unknown }> => {
    let waits = 0
    for (let i = 0; i < maxLogins; i++) {
      const reply = await login()
      const errID = (reply.payload as { errID?: string } | undefined)?.errID
      if (errID === 'invalid_creds') continue
      if (errID === 'ratelimit_exceed' && waits < 3) {
        // Another rule (per connection, per message) may run out first: wait it out, a few times.
        waits++
        const wait = Number((reply.payload as { errPayload?: { retryAfter?: number } }).errPayload?.retryAfter ?? 1000)
        if (wait > h.options.maxWaitMs) fail(`ratelimit_exceed with retryAfter ${wait} ms before any captcha_required`)
        await sleep(wait + 50)
        continue
      }
      const error = expectError(reply, 'captcha_required')
      return { challenge: error.errPayload?.challenge, retryAfter: error.errPayload?.retryAfter }
    }
    return fail(`no captcha_required after ${maxLogins} failed logins from one address`)
  }

  await h.check('captcha.required', async () => {
    if (off) return { skip: off }
    client = await h.connect()
    const required = await spendBudget()
    challenge = required.challenge
    const parameters = (challenge as { parameters?: Record<string, unknown> } | undefined)?.parameters
    expect(typeof parameters === 'object' && parameters !== null, `errPayload.challenge must be an ALTCHA challenge object, got ${show(challenge)}`)
    expect(['SHA-256', 'SHA-384', 'SHA-512'].includes(parameters.algorithm as string), `challenge algorithm must be SHA-256/384/512, got ${show(parameters.algorithm)}`)
    for (const field of ['nonce', 'salt', 'keyPrefix'] as const) expect(typeof parameters[field] === 'string', `challenge parameters.${field} must be a string`)
    expect(typeof (challenge as { signature?: unknown }).signature === 'string', 'the challenge must be HMAC-signed (signature)')
    expect(typeof required.retryAfter === 'number', `errPayload.retryAfter must be a number, got ${show(required.retryAfter)}`)
  })

  // When off, every check is skipped with that reason rather than "needs captcha.required".
  const needs = (check: string) => ({ needs: off ? [] : [check] })

  await h.check('captcha.solved', async () => {
    if (off) return { skip: off }
    const solution = await solveChallenge(challenge, { timeoutMs: 60_000 }).catch((error: Error) => fail(`the challenge could not be solved: ${error.message}`))
    solved = encodeSolution(challenge, solution)
    await spendBudget()
    // Admitted: the handler answers (invalid_creds for the wrong password), not the captcha gate.
    expectError(await login({ captcha: solved }), 'invalid_creds')
  }, needs('captcha.required'))

  await h.check('captcha.reused', async () => {
    if (off) return { skip: off }
    await spendBudget()
    expectError(await login({ captcha: solved }), 'captcha_invalid')
  }, needs('captcha.solved'))

  await h.check('captcha.invalid', async () => {
    if (off) return { skip: off }
    // A new challenge with an easier key prefix after signing: the signature no longer holds.
    const tampered = structuredClone((await spendBudget()).challenge) as { parameters: Record<string, unknown> }
    tampered.parameters.keyPrefix = '00'
    const forged = encodeSolution(tampered, await solveChallenge(tampered, { timeoutMs: 60_000 }))
    await spendBudget()
    expectError(await login({ captcha: forged }), 'captcha_invalid')
    await spendBudget()
    expectError(await login({ captcha: 'bm90IGpzb24=' }), 'captcha_invalid')
  }, needs('captcha.solved'))
}
