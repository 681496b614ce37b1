/**
 * server:info — what this server is: domains, version, the types it handles, its limits, registration
 * mode and which optional ways to sign in are on (features), so clients and the conformance suite can
 * adapt. No auth, no side effects.
 */
import { guestsEnabled } from '../../accounts/guests.ts'
import { defineHandler } from '../../handler.ts'

export default defineHandler({
  type: 'server:info',
  auth: 'none',
  async handle({ config, server }) {
    return {
      domains: [...config.server.domains],
      version: server.version,
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
      },
    }
  },
})
