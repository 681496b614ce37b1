// Accounts and their third-party IDs: registration, look-ups, passwords, status, profile, login failures.
import type { Database } from 'better-sqlite3'
import { createCredentialOps, type CredentialOps } from './account-credentials.ts'
import { createGuestOps, type GuestOps } from './guests.ts'
import { createReadCache } from './read-cache.ts'
import { commitEach, type GroupCommit } from './group-commit.ts'
import type { SharedRead } from './shared-read.ts'
import { toAccount, type AccountRow } from './rows/accounts.ts'
import { UniqueViolation } from './errors.ts'
import type { ThirdPID } from '../identifiers.ts'
import type { ChargeOnFind, TookOnFind } from './rate-buckets.ts'
import type { ProfileClaims } from '../types/schemas.ts'

export type AccountStatus = 'active' | 'pending' | 'disabled'

export interface BoundThirdPID extends ThirdPID {
  verified: boolean
}

export interface Account {
  id: string
  username: string | null
  userID: string
  passwordHash: string | null
  status: AccountStatus
  profile: ProfileClaims
  failedLogins: number
  loginBlockedUntil: number
  /** Bumped by every credential change (password, status): a login re-checks it when it creates its device. */
  credentialsEpoch: number
  /** A guest (profile:guest) until profile:upgrade: no username, 3PID or password. */
  guest: boolean
  createdAt: number
  thirdPIDs: BoundThirdPID[]
}

export interface NewAccount {
  id: string
  username: string | null
  userID: string
  passwordHash: string | null
  status: AccountStatus
  profile: ProfileClaims
  thirdPIDs: BoundThirdPID[]
  now: number
  guest?: boolean
  /** Link the account to a ticket issuer's (iss, sub) in the same transaction (a taken pair: UniqueViolation). */
  ticketLink?: { iss: string; sub: string }
  /** Link the account to an identity provider's (providerID, sub) in the same transaction (a taken pair: UniqueViolation). */
  providerLink?: { providerID: string; sub: string; email: string | null }
}

export interface AccountQuery {
  username?: string
  email?: string
  msisdn?: string
  userIDs?: string[]
}

export interface AccountStore extends CredentialOps, GuestOps {
  /**
   * Creates the account and its 3PIDs atomically; a taken username or verified 3PID throws UniqueViolation.
   * Another account's unverified claim on one of the 3PIDs is dropped (with its codes and tokens) by the
   * same transaction: an address nobody proved reserves nothing (pre-account hijacking).
   */
  create(account: NewAccount): Promise<Account>
  byID(id: string): Promise<Account | undefined>
  byUserID(userID: string): Promise<Account | undefined>
  byUsername(username: string): Promise<Account | undefined>
  byThirdPID(thirdPID: ThirdPID): Promise<Account | undefined>
  /**
   * byUsername or byThirdPID and, in the same round trip, a shared rate-limit take whose bucket is named
   * by the account found (a password login's login_account): exact across nodes as takeShared, one round
   * trip fewer. Absent on SQLite, whose charges are in this process's memory.
   */
  byLoginNameCharging?(name: { username: string } | { thirdPID: ThirdPID }, charge: ChargeOnFind): Promise<{ account: Account | undefined; took: TookOnFind }>
  usernameTaken(username: string): Promise<boolean>
  /** Sets the status alone (enable; tests). It bumps the credentials epoch; disabling goes through changeCredentials. */
  setStatus(id: string, status: AccountStatus, now: number): Promise<void>
  clearLoginFailures(id: string): Promise<void>
  /** Active accounts matching the query; email/msisdn match only where the owner made them public. */
  query(query: AccountQuery, limit: number): Promise<Account[]>
  count(): Promise<number>
  list(offset: number, limit: number): Promise<Account[]>
  /** Deletes pending accounts created before `olderThan` (ms), freeing their names and 3PIDs; returns how many. */
  purgePending(olderThan: number): Promise<number>
  /**
   * Erases an account's personal data in one transaction: 3PIDs, profile, password, devices, sudo tokens,
   * codes. Without `releaseUsername` the row stays as a disabled tombstone holding only the username and
   * userID, so nobody can register the name and be taken for the old owner; with it the row goes too.
   */
  erase(id: string, options: { releaseUsername: boolean; now: number }): Promise<void>
}

// One statement per look-up: the 3PIDs ride along as JSON (a second query per read cost ~40% of profile:get).
const accountColumns = `a.*, (SELECT json_group_array(json_object('type', medium, 'value', address, 'verified', verified))
  FROM (SELECT medium, address, verified FROM thirdpids WHERE account_id = a.id ORDER BY medium)) AS thirdpids`

/** SQLite's account store, with byID's read at once (synchronous) for ./index.ts's profile:auth read. */
export type SqliteAccountStore = AccountStore & { byIDNow(id: string): Account | undefined }

export function createAccountStore(db: Database, writes: Pick<GroupCommit, 'run'> = commitEach, reads?: Pick<SharedRead, 'run'>): SqliteAccountStore {
  const insertAccount = db.prepare(
    `INSERT INTO accounts (id, username, user_id, password_hash, status, profile, guest, created_at, updated_at)
     VALUES (@id, @username, @userID, @passwordHash, @status, @profile, @guest, @now, @now)`,
  )
  const insertLink = db.prepare('INSERT INTO ticket_links (iss, sub, account_id, created_at) VALUES (?, ?, ?, ?)')
  const insertProviderLink = db.prepare('INSERT INTO provider_links (provider_id, sub, account_id, email, created_at) VALUES (?, ?, ?, ?, ?)')
  const insertThirdPID = db.prepare(
    'INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES (?, ?, ?, ?, ?)',
  )
  // An unverified claim of another account gives way to a registration (or a binding, see verification-tokens.ts).
  const dropClaim = db.prepare<[string, string, string], { account_id: string }>(
    'DELETE FROM thirdpids WHERE medium = ? AND address = ? AND verified = 0 AND account_id <> ? RETURNING account_id',
  )
  const dropCodesFor = db.prepare('DELETE FROM verification_codes WHERE account_id = ? AND medium = ? AND address = ?')
  const dropTokensFor = db.prepare('DELETE FROM verification_tokens WHERE account_id = ? AND medium = ? AND address = ?')
  const forgetAddress = (accountID: string, medium: string, address: string) => {
    dropCodesFor.run(accountID, medium, address)
    dropTokensFor.run(accountID, medium, address)
  }
  const selectByID = db.prepare<[string], AccountRow>(`SELECT ${accountColumns} FROM accounts a WHERE a.id = ?`)
  const selectByUserID = db.prepare<[string], AccountRow>(`SELECT ${accountColumns} FROM accounts a WHERE a.user_id = ?`)
  const selectByUsername = db.prepare<[string], AccountRow>(`SELECT ${accountColumns} FROM accounts a WHERE a.username = ?`)
  const selectByThirdPID = db.prepare<[string, string], AccountRow>(
    `SELECT ${accountColumns} FROM accounts a JOIN thirdpids t ON t.account_id = a.id WHERE t.medium = ? AND t.address = ?`,
  )
  const updateStatus = db.prepare('UPDATE accounts SET status = ?, credentials_epoch = credentials_epoch + 1, updated_at = ? WHERE id = ?')
  const clearFailures = db.prepare('UPDATE accounts SET failed_logins = 0, login_blocked_until = 0 WHERE id = ? AND failed_logins > 0')
  const countAll = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM accounts')
  const listPage = db.prepare<[number, number], AccountRow>(`SELECT ${accountColumns} FROM accounts a ORDER BY a.created_at, a.id LIMIT ? OFFSET ?`)
  const deletePending = db.prepare("DELETE FROM accounts WHERE status = 'pending' AND created_at < ?")
  const eraseStatements = [
    'DELETE FROM thirdpids WHERE account_id = ?',
    'DELETE FROM devices WHERE account_id = ?',
    'DELETE FROM sudo_tokens WHERE account_id = ?',
    'DELETE FROM verification_codes WHERE account_id = ?',
    'DELETE FROM verification_tokens WHERE account_id = ?',
    // A deactivated account's provider identities may sign up afresh, as its freed 3PIDs may.
    'DELETE FROM provider_links WHERE account_id = ?',
  ].map((sql) => db.prepare(sql))
  const tombstone = db.prepare(
    `UPDATE accounts SET status = 'disabled', password_hash = NULL, profile = '{}', failed_logins = 0, login_blocked_until = 0,
     credentials_epoch = credentials_epoch + 1,
     updated_at = ? WHERE id = ?`,
  )
  const deleteAccount = db.prepare('DELETE FROM accounts WHERE id = ?')
  const erase = db.transaction((id: string, releaseUsername: boolean, now: number) => {
    for (const statement of eraseStatements) statement.run(id)
    if (releaseUsername) deleteAccount.run(id)
    else tombstone.run(now, id)
  })
  const publicByThirdPID = db.prepare<[string, string, string], AccountRow>(
    `SELECT ${accountColumns} FROM accounts a JOIN thirdpids t ON t.account_id = a.id
     WHERE t.medium = ? AND t.address = ? AND t.verified = 1 AND a.status = 'active' AND json_extract(a.profile, ?) = 1`,
  )

  const cache = createReadCache<Account>(db, {
    sources: [
      { table: 'accounts', rowKey: 'ROW.id' },
      { table: 'thirdpids', rowKey: 'ROW.account_id' },
    ],
    rowKeyOf: (account) => account.id,
    sizeOf: heapBytes,
    maxBytes: cacheBytes.heap,
    offHeapBytes: cacheBytes.offHeap,
    foreignCheckMs: 1000,
    reads,
  })

  const create = db.transaction((account: NewAccount) => {
    const { ticketLink, providerLink, ...row } = account
    insertAccount.run({ ...row, profile: JSON.stringify(account.profile), guest: account.guest ? 1 : 0 })
    for (const t of account.thirdPIDs) {
      for (const { account_id } of dropClaim.all(t.type, t.value, account.id)) forgetAddress(account_id, t.type, t.value)
      insertThirdPID.run(t.type, t.value, account.id, t.verified ? 1 : 0, account.now)
    }
    if (ticketLink) insertLink.run(ticketLink.iss, ticketLink.sub, account.id, account.now)
    if (providerLink) insertProviderLink.run(providerLink.providerID, providerLink.sub, account.id, providerLink.email, account.now)
  })


  const byIDNow = (id: string) => cache.get('id:' + id, () => toAccount(selectByID.get(id)))

  return {
    byIDNow,
    ...createCredentialOps(db, writes),
    ...createGuestOps(db),
    async create(account) {
      uniqueOrConflict(() => create.immediate(account))
      return toAccount(selectByID.get(account.id))!
    },
    byID: async (id) => byIDNow(id),
    byUserID: async (userID) => cache.get('user:' + userID, () => toAccount(selectByUserID.get(userID))),
    byUsername: async (username) => toAccount(selectByUsername.get(username)),
    byThirdPID: async (t) => toAccount(selectByThirdPID.get(t.type, t.value)),
    usernameTaken: async (username) => selectByUsername.get(username) !== undefined,
    async setStatus(id, status, now) {
      updateStatus.run(status, now, id)
    },
    async clearLoginFailures(id) {
      await writes.run(() => clearFailures.run(id))
    },
    async query(query, limit) {
      const rows: AccountRow[] = []
      if (query.username) rows.push(...[selectByUsername.get(query.username)].filter(isRow))
      if (query.email) rows.push(...[publicByThirdPID.get('email', query.email, '$.email_public')].filter(isRow))
      if (query.msisdn) rows.push(...[publicByThirdPID.get('msisdn', query.msisdn, '$.phone_number_public')].filter(isRow))
      for (const userID of query.userIDs ?? []) rows.push(...[selectByUserID.get(userID)].filter(isRow))
      const seen = new Set<string>()
      return rows
        .filter((row) => row.status === 'active' && !seen.has(row.id) && seen.add(row.id))
        .slice(0, limit)
        .map((row) => toAccount(row)!)
    },
    count: async () => countAll.get()!.n,
    list: async (offset, limit) => listPage.all(limit, offset).map((row) => toAccount(row)!),
    purgePending: async (olderThan) => deletePending.run(olderThan).changes,
    async erase(id, { releaseUsername, now }) {
      erase.immediate(id, releaseUsername, now)
    },
  }
}

const isRow = (row: AccountRow | undefined): row is AccountRow => row !== undefined

/**
 * The account cache's bounds, 64 MiB in all. Off the heap (read-cache.ts): ~97,000 accounts of the bench's
 * fixture (~600 B serialised, with the key and header), a hit ~5 µs (a parse). On the heap, the accounts
 * read often: ~6,000 with a handful of profile fields (heapBytes says ~1.4 KB each), a hit ~1 µs. A miss
 * costs ~20-28 µs here (the look-up by user ID with its 3PIDs, then JSON.parse).
 */
export const cacheBytes = { heap: 8 * 2 ** 20, offHeap: 56 * 2 ** 20 }

/** A rough heap size of a parsed value (V8: ~2 B per string character, headers, properties). */
export function heapBytes(value: unknown): number {
  if (typeof value === 'string') return 16 + 2 * value.length
  if (typeof value !== 'object' || value === null) return 8
  let total = 32
  // for-in, not Object.entries: the same keys on plain data, without a [key, value] array per property
  // (this estimate runs on every cache miss).
  for (const key in value) total += 8 + 2 * key.length + heapBytes((value as Record<string, unknown>)[key])
  return total
}

/** SQLite's unique-constraint failure becomes the typed UniqueViolation (the domain answers it), never the raw error. */
export function uniqueOrConflict<T>(operation: () => T): T {
  try {
    return operation()
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new UniqueViolation('other')
    throw error
  }
}
