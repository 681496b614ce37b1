// The device → live connections registry: revocation fan-out and events to an account's online devices.
// In-process today; the seam where a shared channel (Redis, PostgreSQL LISTEN) would go across nodes.
import type { Connection, Session } from './handler.ts'
import type { Events } from './types/schemas.ts'

export type RevokeReason = Events['profile:session_revoked']['reason']

export interface Sessions {
  /** Marks the connection authenticated as `session` and makes it reachable by device and account. */
  attach(conn: Connection, session: Session): void
  /** Forgets the connection (on close or de-authentication). */
  detach(conn: Connection): void
  /** Sends profile:session_revoked to every live connection of the device and de-authenticates them. */
  revokeDevice(accountID: string, deviceID: string, reason: RevokeReason): void
  /** revokeDevice for every device of the account, optionally sparing one. */
  revokeAccount(accountID: string, reason: RevokeReason, exceptDeviceID?: string): void
  /** Sends an event to every live connection of the account's devices other than `exceptDeviceID`. */
  notifyAccount<E extends keyof Events>(accountID: string, type: E, payload: Events[E], exceptDeviceID?: string): void
  isOnline(accountID: string, deviceID: string): boolean
  /** Makes `conn` the one waiting on device authorization `grantID` (replacing any earlier wait of it). */
  awaitGrant(conn: Connection, grantID: string): void
  /** The open connection waiting on `grantID`, if any, which stops waiting. */
  takeWaiter(grantID: string): Connection | undefined
  /** Live connections registered (every device of every account): what the registry holds. */
  readonly size: number
  /** Sends an application (extension) event to every live connection of the user; returns how many. */
  sendToUser(userID: string, type: string, payload: object): number
}

export function createSessions(): Sessions {
  const byAccount = new Map<string, Map<string, Set<Connection>>>()
  // Connections waiting on a device authorization (at most one grant each), both ways.
  const waiters = new Map<string, Connection>()
  const waitingOn = new WeakMap<Connection, string>()
  // Extensions address users by user ID; the registry is keyed by account.
  const accountOfUser = new Map<string, string>()

  function stopWaiting(conn: Connection) {
    const grantID = waitingOn.get(conn)
    if (grantID === undefined) return
    waitingOn.delete(conn)
    waiters.delete(grantID)
  }

  // A closed connection, or one that authenticates another way, stops waiting.
  function detach(conn: Connection) {
    stopWaiting(conn)
    const session = conn.session
    if (!session) return
    const devices = byAccount.get(session.accountID)
    const conns = devices?.get(session.deviceID)
    conns?.delete(conn)
    if (conns && conns.size === 0) devices!.delete(session.deviceID)
    if (devices && devices.size === 0) {
      byAccount.delete(session.accountID)
      accountOfUser.delete(session.userID)
    }
  }

  function revokeDevice(accountID: string, deviceID: string, reason: RevokeReason) {
    const conns = byAccount.get(accountID)?.get(deviceID)
    if (!conns) return
    for (const conn of [...conns]) {
      detach(conn)
      conn.session = null
      conn.sendEvent('profile:session_revoked', { deviceID, reason })
    }
  }

  return {
    attach(conn, session) {
      detach(conn)
      conn.session = session
      // A login that finishes after its socket closed must not leave that socket in the registry.
      if (!conn.open) return
      let devices = byAccount.get(session.accountID)
      if (!devices) byAccount.set(session.accountID, (devices = new Map()))
      accountOfUser.set(session.userID, session.accountID)
      let conns = devices.get(session.deviceID)
      if (!conns) devices.set(session.deviceID, (conns = new Set()))
      conns.add(conn)
    },
    detach,
    revokeDevice,
    revokeAccount(accountID, reason, exceptDeviceID) {
      for (const deviceID of [...(byAccount.get(accountID)?.keys() ?? [])]) {
        if (deviceID !== exceptDeviceID) revokeDevice(accountID, deviceID, reason)
      }
    },
    notifyAccount(accountID, type, payload, exceptDeviceID) {
      for (const [deviceID, conns] of byAccount.get(accountID) ?? []) {
        if (deviceID === exceptDeviceID) continue
        for (const conn of conns) conn.sendEvent(type, payload)
      }
    },
    awaitGrant(conn, grantID) {
      stopWaiting(conn)
      if (!conn.open) return
      waiters.set(grantID, conn)
      waitingOn.set(conn, grantID)
    },
    takeWaiter(grantID) {
      const conn = waiters.get(grantID)
      if (conn) stopWaiting(conn)
      return conn?.open ? conn : undefined
    },
    isOnline: (accountID, deviceID) => (byAccount.get(accountID)?.get(deviceID)?.size ?? 0) > 0,
    get size() {
      let count = 0
      for (const devices of byAccount.values()) for (const conns of devices.values()) count += conns.size
      return count
    },
    sendToUser(userID, type, payload) {
      const accountID = accountOfUser.get(userID)
      let reached = 0
      for (const conns of (accountID && byAccount.get(accountID)?.values()) || []) {
        for (const conn of conns) {
          // Extension event types are checked where they enter (extensions/notify.ts), not by the schema types.
          ;(conn.sendEvent as (type: string, payload: object) => void)(type, payload)
          reached++
        }
      }
      return reached
    },
  }
}
