// The registry: every message type this server handles, one line each (no directory scanning).
import type { AnyHandler } from '../handler.ts'
import profileAuth from './profile/auth.ts'
import profileLogin from './profile/login.ts'
import profileRegister from './profile/register.ts'
import serverInfo from './server/info.ts'
import serverPing from './server/ping.ts'

export const handlers: readonly AnyHandler[] = [
  serverPing,
  serverInfo,
  profileRegister,
  profileLogin,
  profileAuth,
]
