// The ceiling: a raw ws server that parses each JSON frame and answers with the same id, nothing else.
// `node echo-server.ts PORT corked` corks each socket for the rest of the tick on its first reply, as
// Hafnium does (src/connection.ts), so a tick's replies leave in one write; without it, one write each.
import type { Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

const port = Number(process.argv[2] ?? 0)
const corked = process.argv[3] === 'corked'
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 65536 })
const uncork = (tcp: Socket, state: { corked: boolean }) => {
  state.corked = false
  tcp.uncork()
}
wss.on('connection', (ws: WebSocket, request) => {
  const tcp = request.socket as Socket
  const state = { corked: false }
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { id: string; type: string }
    if (corked && !state.corked) {
      state.corked = true
      tcp.cork()
      process.nextTick(uncork, tcp, state)
    }
    ws.send(JSON.stringify({ id: frame.id, type: frame.type, from: 'localhost', ok: true, payload: {} }))
  })
})
wss.on('listening', () => {
  const address = wss.address() as { port: number }
  process.stdout.write(`listening on ws://127.0.0.1:${address.port}/\n`)
})
process.on('SIGTERM', () => process.exit(0))
