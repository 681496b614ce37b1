/**
 * server:info — what this server is: domains, version, the types it handles, its limits and
 * registration mode, so clients and the conformance suite can adapt. No auth, no side effects.
 */
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
    }
  },
})
