// hafnium/client: the @hafnium/client package, re-exported for the server's own tools and older imports.
import { WebSocket } from 'ws'

export * from '@hafnium/client'

// Node 20 has no global WebSocket (Node 22 does); the client package takes the global, so give it `ws` here,
// on the server's side only: @hafnium/client itself stays free of Node-only code.
const global = globalThis as { WebSocket?: unknown }
global.WebSocket ??= WebSocket
