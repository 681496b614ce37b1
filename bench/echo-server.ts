// The ceiling: a raw ws server that parses each JSON frame and answers with the same id, nothing else.
import { WebSocketServer } from 'ws'

const port = Number(process.argv[2] ?? 0)
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false, maxPayload: 65536 })
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { id: string; type: string }
    ws.send(JSON.stringify({ id: frame.id, type: frame.type, from: 'localhost', ok: true, payload: {} }))
  })
})
wss.on('listening', () => {
  const address = wss.address() as { port: number }
  process.stdout.write(`listening on ws://127.0.0.1:${address.port}/\n`)
})
process.on('SIGTERM', () => process.exit(0))
