// The session kept across reloads of this tab (sessionStorage: gone with the tab, not shared with other tabs).
import type { Session } from '@hafnium/client'

const key = 'hafnium-example'

export interface Saved {
  server: string
  session: Session
}

/** Saves the client's current session. Call it again whenever the client re-authenticates: with the
 * server's sessions.rotateTokens each profile:auth retires the old token, and replaying a retired token
 * revokes the device. */
export function save(server: string, session: Session | null) {
  if (session) sessionStorage.setItem(key, JSON.stringify({ server, session }))
  else sessionStorage.removeItem(key)
}

export function load(): Saved | null {
  try {
    const saved = JSON.parse(sessionStorage.getItem(key) ?? 'null') as Partial<Saved> | null
    const s = saved?.session
    if (typeof saved?.server !== 'string' || typeof s?.authToken !== 'string' || typeof s.userID !== 'string' || typeof s.deviceID !== 'string') return null
    return { server: saved.server, session: s }
  } catch {
    return null // not ours, or corrupted: sign in afresh
  }
}
