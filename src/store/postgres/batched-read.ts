// Look-ups by key that arrive in one event-loop turn run as one statement (DataLoader-style). On
// PostgreSQL a statement's fixed cost (the driver, the loopback socket, parse/bind/execute in the backend)
// dwarfs reading one indexed row, and the per-request reads (profile:auth's token, profile:get's account)
// come in bursts of dozens per turn under load: one `= ANY($1)` statement answers them all.

/** Past this many keys a batch is sent at once and the next keys start another. */
export const maxBatchKeys = 256

type Waiter<V> = { resolve(value: V | undefined): void; reject(error: unknown): void }
type Batch<K, V> = { entries: Map<string, { key: K; waiters: Waiter<V>[] }>; sent: boolean }

/**
 * `load(keys)` answers a batch of distinct keys with a Map from each key found (by `id(key)`) to its
 * value; a key missing from it resolves undefined. The batch is sent on the next setImmediate, after the
 * I/O of the current turn has been read, so each caller's row is read after its request arrived (a
 * revocation committed before then is seen, as with one statement per request). A batch that fails
 * rejects every caller in it with the same error; the next batch starts afresh.
 */
export function batchedRead<K, V>(load: (keys: K[]) => Promise<Map<string, V>>, id: (key: K) => string, maxKeys = maxBatchKeys): (key: K) => Promise<V | undefined> {
  let pending: Batch<K, V> | undefined

  const send = (batch: Batch<K, V>) => {
    if (batch.sent) return // it filled up and went before its turn ended
    batch.sent = true
    if (pending === batch) pending = undefined
    const entries = batch.entries
    // load may throw before returning a promise: that fails the batch too.
    Promise.resolve()
      .then(() => load([...entries.values()].map((entry) => entry.key)))
      .then(
        (found) => {
          for (const [k, entry] of entries) for (const waiter of entry.waiters) waiter.resolve(found.get(k))
        },
        (error: unknown) => {
          for (const entry of entries.values()) for (const waiter of entry.waiters) waiter.reject(error)
        },
      )
  }

  return (key) =>
    new Promise<V | undefined>((resolve, reject) => {
      const k = id(key)
      let batch = pending
      if (!batch) {
        const created: Batch<K, V> = (batch = pending = { entries: new Map(), sent: false })
        setImmediate(() => send(created))
      }
      const entry = batch.entries.get(k)
      if (entry) entry.waiters.push({ resolve, reject })
      else batch.entries.set(k, { key, waiters: [{ resolve, reject }] })
      if (batch.entries.size >= maxKeys) send(batch)
    })
}
