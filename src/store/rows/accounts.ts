// The accounts row as both engines select it, and its one mapping to the domain's Account.
import type { ProfileClaims } from '../../types/schemas.ts'
import type { Account, AccountStatus } from '../accounts.ts'

export interface ThirdPIDRow {
  type: 'email' | 'msisdn'
  value: string
  verified: number
}

/** The 3PIDs ride along as JSON: SQLite returns it as text (json_group_array), PostgreSQL parsed (json_agg). */
export interface AccountRow {
  id: string
  username: string | null
  user_id: string
  password_hash: string | null
  status: AccountStatus
  profile: string
  failed_logins: number
  login_blocked_until: number
  credentials_epoch: number
  guest: number
  created_at: number
  thirdpids: string | ThirdPIDRow[]
}

export function toAccount(row: AccountRow | undefined): Account | undefined {
  if (!row) return undefined
  const thirdPIDs = typeof row.thirdpids === 'string' ? (JSON.parse(row.thirdpids) as ThirdPIDRow[]) : row.thirdpids
  return {
    id: row.id,
    username: row.username,
    userID: row.user_id,
    passwordHash: row.password_hash,
    status: row.status,
    profile: JSON.parse(row.profile) as ProfileClaims,
    failedLogins: row.failed_logins,
    loginBlockedUntil: row.login_blocked_until,
    credentialsEpoch: row.credentials_epoch,
    guest: row.guest === 1,
    createdAt: row.created_at,
    thirdPIDs: thirdPIDs.map((t) => ({ type: t.type, value: t.value, verified: t.verified === 1 })),
  }
}
