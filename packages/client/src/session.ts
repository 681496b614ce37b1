// Which device the client is logged in as, followed from the replies and events that change it.
import type { EventEnvelope, ReplyEnvelope, Session } from './types.ts'

type Payload = Record<string, unknown> | undefined

/** The session after a successful reply to `type`; `undefined` when the reply does not change it. */
export function sessionAfterReply(current: Session | null, type: string, request: Payload, reply: ReplyEnvelope): Session | null | undefined {
  if (!reply.ok) return undefined
  const payload = reply.payload as Payload
  switch (type) {
    case 'profile:login':
    case 'profile:guest':
    case 'device:authorize_poll':
      return asSession(payload)
    case 'profile:register':
      return payload?.loginPayload === undefined ? undefined : asSession(payload.loginPayload as Payload)
    case 'profile:auth':
      // With sessions.rotateTokens the reply carries the device's new token: keep it, the old one retires.
      return asSession({ ...payload, authToken: payload?.authToken ?? request?.authToken })
    case 'profile:logout':
    case 'profile:deactivate':
      return null
    case 'device:revoke':
      return current && request?.deviceID === current.deviceID ? null : undefined
    default:
      return undefined
  }
}

/** `profile:session_revoked` for this device means its token is dead: nothing to re-authenticate with; `device:authorized` is a login. */
export function sessionAfterEvent(current: Session | null, event: EventEnvelope): Session | null | undefined {
  // device:authorized signs the waiting connection in as the approved device.
  if (event.type === 'device:authorized') return asSession(event.payload as Payload)
  if (event.type !== 'profile:session_revoked' || !current) return undefined
  return (event.payload as Payload)?.deviceID === current.deviceID ? null : undefined
}

function asSession(value: Payload): Session | undefined {
  const { userID, deviceID, authToken } = value ?? {}
  if (typeof userID !== 'string' || typeof deviceID !== 'string' || typeof authToken !== 'string') return undefined
  return { userID, deviceID, authToken }
}
