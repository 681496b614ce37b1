// Store failures the router answers with a retryable error instead of internal_error.

/** SQLITE_BUSY/SQLITE_FULL and kin: the write did not happen; the client may retry later. */
export class StorageBusyError extends Error {
  constructor(readonly retryAfterMs: number, options?: { cause?: unknown }) {
    super('storage is temporarily unavailable', options)
    this.name = 'StorageBusyError'
  }
}

const retryable = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR'])

/** Runs a store operation, turning a retryable SQLite failure into StorageBusyError. */
export function retryableStorage<T>(operation: () => T): T {
  try {
    return operation()
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    if (retryable.has(code) || [...retryable].some((c) => code.startsWith(c + '_'))) {
      throw new StorageBusyError(1000, { cause: error })
    }
    throw error
  }
}
