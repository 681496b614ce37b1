// What the check groups share: the harness, the server's self-description, the throwaway account and its connections.
import type { HafniumClient, Messages } from '../client/index.ts'
import type { Harness } from './harness.ts'
import type { TicketIssuerOption } from './checks/signin.ts'

export type ServerInfo = Messages['server:info']['reply']

export interface Account {
  /** As sent at registration (mixed case, to check case folding). */
  typed: string
  /** Canonical (lowercase). */
  username: string
  userID: string
  password: string
  email: string
  msisdn: string
  /** The connection logged in at registration (device A1), kept authenticated between groups. */
  main: HafniumClient
  mainDevice: string
  mainToken: string
}

export interface Suite {
  h: Harness
  info: ServerInfo | undefined
  /** The server's delivery.outboxFile, when given: the codes group reads codes from it. */
  outboxFile: string | undefined
  /** An issuer the server trusts, with its signing key: enables the valid-ticket checks. */
  ticketIssuer?: TicketIssuerOption | undefined
  account: Account | undefined
  /** Other devices of the account: A2 (logged in by login.ok) and a second connection authenticated as A2 (auth.ok). */
  devices: { a2?: Device; a2b?: HafniumClient }
}

export interface Device {
  client: HafniumClient
  deviceID: string
  authToken: string
}

export type Group = (suite: Suite) => Promise<void>

export const requiredTypes = ['server:ping', 'server:info', 'profile:register', 'profile:login', 'profile:auth', 'profile:logout'] as const
