// Store failures the router answers with a retryable error (storage_busy) instead of internal_error.

// SQLITE_FULL: disk (or database.maxBytes) full; SQLITE_BUSY/LOCKED: another writer held the file
// past busy_timeout; SQLITE_IOERR: the disk failed the write. SQLite rolls the statement or
// transaction back in each case, so nothing half-written remains and a retry is safe.
// STORAGE_UNAVAILABLE: the PostgreSQL store's StorageUnavailable (below).
const retryableCodes = ['SQLITE_FULL', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'STORAGE_UNAVAILABLE']

/** True for a store error after which the database is intact and the client may retry. */
export function isRetryableStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && retryableCodes.some((c) => code === c || code.startsWith(c + '_'))
}

/** How long a client is told to wait before retrying after a storage failure. */
export const storageRetryAfterMs = 1000

/** SQLITE_FULL (disk or database.maxBytes): the store then checkpoints eagerly (Store.onDiskFull). */
export function isDiskFull(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'SQLITE_FULL'
}

/**
 * A write the store refused because what the caller read has changed since (the domain maps each to an
 * errID; the store knows no protocol). Raised inside the write's transaction, so nothing was changed.
 */
export class StoreConflict extends Error {}

/** The device a write was made on behalf of no longer exists (logged out, revoked, password changed). */
export class DeviceGone extends StoreConflict {
  constructor() {
    super('the acting device no longer exists')
  }
}

/**
 * The account's credentials moved since they were read: its password hash, status or credentials epoch
 * (bumped by every password change, reset, deactivation and disable) is no longer what the caller saw.
 */
export class CredentialsChanged extends StoreConflict {
  constructor() {
    super("the account's credentials changed since they were read")
  }
}

/** The provider identity a login read as linked to the account is no longer linked to it (unbound, or the account is gone). */
export class LinkChanged extends StoreConflict {
  constructor() {
    super('the provider link changed since it was read')
  }
}

/**
 * A password login's backoff was found in place where its device would be inserted: a wrong password
 * (on any node) blocked the account while this login's argon2 ran. Nothing was written.
 */
export class LoginBlocked extends StoreConflict {
  constructor(readonly until: number) {
    super('password logins to the account are blocked')
  }
}

/** The account is not active (disabled, or pending confirmation) with the credentials epoch the caller read. */
export class AccountInactive extends StoreConflict {
  constructor(readonly status: 'disabled' | 'pending') {
    super(`the account is ${status}`)
  }
}

/** The account already holds `max` devices. */
export class DeviceLimit extends StoreConflict {
  constructor(readonly max: number) {
    super(`the account already holds ${max} devices`)
  }
}

/** A unique name is taken: a username, a 3PID (field says which). */
export class UniqueViolation extends StoreConflict {
  constructor(readonly field: 'username' | 'thirdPID' | 'other') {
    super(`the ${field} is taken`)
  }
}

/** The account is not (or no longer) a guest. */
export class NotGuest extends StoreConflict {
  constructor() {
    super('the account is not a guest')
  }
}

/** A single-use value (a ticket's jti) was used before. */
export class AlreadyUsed extends StoreConflict {
  constructor() {
    super('already used')
  }
}

/**
 * The database cannot be reached or refused the work for now (PostgreSQL: connection lost or refused,
 * too many clients, serialization failure after retries). Nothing was committed; a retry is safe.
 */
export class StorageUnavailable extends Error {
  readonly code = 'STORAGE_UNAVAILABLE'
}

/** The change would leave the account with no way to log in (unbinding its last 3PID or provider). */
export class LastWayIn extends StoreConflict {
  constructor() {
    super('no way to log in would be left')
  }
}
