/**
 * server:info — what this server is: domains, version, this node's name, the types it handles, its
 * limits, registration mode, which optional ways to sign in are on and which types have a captcha step
 * (features), so clients and the conformance suite can adapt. No auth, no side effects.
 */
import { guestsEnabled } from '../../accounts/guests.ts'
import { defineHandler } from '../../handler.ts'
import type { Config } from '../../types/schemas.ts'

export default defineHandler({
  type: 'server:info',
  auth: 'none',
  async handle({ config, server }) {
    return {
      domains: [...config.server.domains],
      version: server.version,
      node: server.node,
      types: [...server.types],
      limits: {
        maxMessageBytes: config.limits.maxMessageBytes,
        maxQueuedPerConnection: config.limits.maxQueuedPerConnection,
        passwordMinLength: config.password.minLength,
        passwordMaxLength: 256,
        codeLength: config.verification.codeLength,
      },
      registration: config.registration.mode,
      features: {
        guests: guestsEnabled(config),
        tickets: config.tickets.issuers.length > 0,
        deviceAuthorization: config.deviceAuthorization.enabled,
        captcha: captchaTypes(config),
        providers: Object.keys(config.providers).sort(),
      },
    }
  },
})

/** The types of the rules with a captcha step: how a client or the conformance suite knows to expect captcha_required. */
function captchaTypes(config: Readonly<Config>): string[] {
  if (!config.ratelimit.enabled) return []
  const types = new Set<string>()
  for (const rule of Object.values(config.ratelimit.rules)) if (rule.captcha) for (const type of rule.types ?? []) types.add(type)
  return [...types].sort()
}
