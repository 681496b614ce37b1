// The device → live connections registry: revocation fan-out and events to an account's online devices,
// on this node's sockets at once and on the other nodes' through the cluster bus (cluster/bus.ts).
import type { Connection, Session, SharedEventFrame } from './handler.ts'
import type { Events } from './types/schemas.ts'
import { createLocalBus, type ClusterBus, type NodeEvent } from './cluster/bus.ts'

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
  /**
   * A grant decided here that no connection of this node waits on: the other nodes are told, and the one
   * whose connection waits settles it there (the `onGrantDecided` handler).
   */
  publishGrantDecided(grantID: string, approved: boolean): void
  /** What settles a waiting connection when another node decided its grant (set once by the server). */
  onGrantDecided(handler: (conn: Connection, grantID: string, approved: boolean) => void): void
  /** Live connections registered (every device of every account): what the registry holds. */
  readonly size: number
  /**
   * Sends an application (extension) event to every live connection of the user; returns how many on this node.
   * `payloadJson`: the payload already serialised (notify has it from its size check), else done here once.
   */
  sendToUser(userID: string, type: string, payload: object, payloadJson?: string): number
  /** The devices with a live connection on this node (the bus's resync checks them against the store). */
  liveDevices(): { accountID: string; deviceID: string }[]
  /** revokeDevice on this node only: for a revocation every node finds by itself (a device row found gone). */
  revokeDeviceHere(accountID: string, deviceID: string, reason: RevokeReason): void
  /** An event another node published (the bus's listener): delivered to this node's sockets only. */
  deliver(event: NodeEvent): void
}

/**
 * Every revocation and event is delivered to this node's sockets synchronously (a handler's own
 * connection is de-authenticated before its reply leaves) and then published on `bus` for the other
 * nodes; theirs arrive through `deliver` (the server makes it the bus's listener). With the local bus
 * (one node) publishing is a no-op.
 */
export function createSessions(bus: ClusterBus = createLocalBus('local')): Sessions {
  const byAccount = new Map<string, Map<string, Set<Connection>>>()
  // Connections waiting on a device authorization (at most one grant each), both ways.
  const waiters = new Map<string, Connection>()
  const waitingOn = new WeakMap<Connection, string>()
  // Extensions address users by user ID; the registry is keyed by account.
  const accountOfUser = new Map<string, string>()
  let settleGrant: ((conn: Connection, grantID: string, approved: boolean) => void) | undefined

  function takeWaiter(grantID: string): Connection | undefined {
    const conn = waiters.get(grantID)
    if (conn) stopWaiting(conn)
    return conn?.open ? conn : undefined
  }

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

  function revokeDeviceHere(accountID: string, deviceID: string, reason: RevokeReason) {
    const conns = byAccount.get(accountID)?.get(deviceID)
    if (!conns) return
    for (const conn of [...conns]) {
      detach(conn)
      conn.session = null
      conn.sendEvent('profile:session_revoked', { deviceID, reason })
    }
  }

  function revokeAccountHere(accountID: string, reason: RevokeReason, exceptDeviceID?: string) {
    for (const deviceID of [...(byAccount.get(accountID)?.keys() ?? [])]) {
      if (deviceID !== exceptDeviceID) revokeDeviceHere(accountID, deviceID, reason)
    }
  }

  function notifyAccountHere(accountID: string, type: string, payload: object, exceptDeviceID?: string) {
    for (const [deviceID, conns] of byAccount.get(accountID) ?? []) {
      if (deviceID === exceptDeviceID) continue
      // Built-in event payloads are typed where they are published; the bus carries them as plain objects.
      for (const conn of conns) (conn.sendEvent as (type: string, payload: object) => void)(type, payload)
    }
  }

  // Extension event types are checked where they enter (extensions/notify.ts), not by the schema types.
  // The payload is serialised once for all the user's connections (or not at all when none is live).
  function sendToUserHere(userID: string, type: string, payload: object, payloadJson?: string): number {
    const accountID = accountOfUser.get(userID)
    let reached = 0
    // The user's connections send one frame, built by the first of them.
    const shared: SharedEventFrame = {}
    for (const conns of (accountID && byAccount.get(accountID)?.values()) || []) {
      for (const conn of conns) {
        if (conn.sendEventJson) conn.sendEventJson(type, (payloadJson ??= JSON.stringify(payload)), shared)
        else (conn.sendEvent as (type: string, payload: object) => void)(type, payload)
        reached++
      }
    }
    return reached
  }

  function deliver(event: NodeEvent) {
    switch (event.kind) {
      case 'revoke_device':
        return revokeDeviceHere(event.accountID, event.deviceID, event.reason)
      case 'revoke_account':
        return revokeAccountHere(event.accountID, event.reason, event.exceptDeviceID)
      case 'notify_account':
        return notifyAccountHere(event.accountID, event.type, event.payload, event.exceptDeviceID)
      case 'notify_user':
        return void sendToUserHere(event.userID, event.type, event.payload)
      case 'grant_decided': {
        const conn = takeWaiter(event.grantID)
        if (conn) settleGrant?.(conn, event.grantID, event.approved)
        return
      }
    }
  }

  return {
    attach(conn, session) {
      // Re-authenticating as the device it already is (profile:auth on a live socket): the registry already
      // holds it, so only the session object changes (no map and set churn on every re-auth).
      const held = conn.session
      if (conn.open && held && held.accountID === session.accountID && held.deviceID === session.deviceID && held.userID === session.userID) {
        stopWaiting(conn)
        conn.session = session
        return
      }
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
    revokeDevice(accountID, deviceID, reason) {
      revokeDeviceHere(accountID, deviceID, reason)
      bus.publish({ kind: 'revoke_device', accountID, deviceID, reason })
    },
    revokeDeviceHere,
    deliver,
    revokeAccount(accountID, reason, exceptDeviceID) {
      revokeAccountHere(accountID, reason, exceptDeviceID)
      bus.publish(exceptDeviceID === undefined ? { kind: 'revoke_account', accountID, reason } : { kind: 'revoke_account', accountID, reason, exceptDeviceID })
    },
    notifyAccount(accountID, type, payload, exceptDeviceID) {
      notifyAccountHere(accountID, type, payload, exceptDeviceID)
      bus.publish(exceptDeviceID === undefined ? { kind: 'notify_account', accountID, type, payload } : { kind: 'notify_account', accountID, type, payload, exceptDeviceID })
    },
    awaitGrant(conn, grantID) {
      stopWaiting(conn)
      if (!conn.open) return
      waiters.set(grantID, conn)
      waitingOn.set(conn, grantID)
    },
    takeWaiter,
    publishGrantDecided(grantID, approved) {
      bus.publish({ kind: 'grant_decided', grantID, approved })
    },
    onGrantDecided(handler) {
      settleGrant = handler
    },
    isOnline: (accountID, deviceID) => (byAccount.get(accountID)?.get(deviceID)?.size ?? 0) > 0,
    get size() {
      let count = 0
      for (const devices of byAccount.values()) for (const conns of devices.values()) count += conns.size
      return count
    },
    sendToUser(userID, type, payload, payloadJson) {
      const reached = sendToUserHere(userID, type, payload, payloadJson)
      bus.publish({ kind: 'notify_user', userID, type, payload })
      return reached
    },
    liveDevices() {
      const live: { accountID: string; deviceID: string }[] = []
      for (const [accountID, devices] of byAccount) for (const deviceID of devices.keys()) live.push({ accountID, deviceID })
      return live
    },
  }
}
