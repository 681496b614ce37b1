// Per-user events across the nodes serving one database: what this node tells the others, and what it hears.
import type { Events } from '../types/schemas.ts'

type RevokeReason = Events['profile:session_revoked']['reason']

/**
 * What one node asks every other node to do to its own live connections. Each node delivers to its own
 * sockets itself (at once, in the same turn as the change) and publishes the event for the others.
 */
export type NodeEvent =
  | { kind: 'revoke_device'; accountID: string; deviceID: string; reason: RevokeReason }
  | { kind: 'revoke_account'; accountID: string; reason: RevokeReason; exceptDeviceID?: string }
  | { kind: 'notify_account'; accountID: string; type: string; payload: object; exceptDeviceID?: string }
  | { kind: 'notify_user'; userID: string; type: string; payload: object }
  /** A device authorization decided on a node where its requesting connection is not: the node holding it settles it. */
  | { kind: 'grant_decided'; grantID: string; approved: boolean }

export interface BusListener {
  /** An event another node published. */
  deliver(event: NodeEvent): void
  /**
   * The bus was cut off and has subscribed again: events published meanwhile may be lost, so the
   * listener re-checks what it holds (the live sessions against the device rows).
   */
  resync?(): void
}

export interface ClusterBus {
  /** This node's name (server.node): events carry it so a node does not deliver its own twice. */
  readonly node: string
  /** Tells the other nodes. Never throws: a bus that is down queues (bounded) and logs. */
  publish(event: NodeEvent): void
  /** Where events from other nodes go; one listener per bus. */
  listen(listener: BusListener): void
  close(): Promise<void>
}

/** One node alone (the embedded SQLite store): there is nobody to tell, so publishing costs nothing. */
export function createLocalBus(node: string): ClusterBus {
  return {
    node,
    publish() {},
    listen() {},
    close: async () => {},
  }
}
