// A tiny WebSocket server whose answers a test writes by hand: out of order, never, or wrong on purpose.
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

export interface Stub {
  url: string
  /** Every text frame received, in order. */
  received: string[]
  close(): Promise<void>
}

/** `answer` gets each frame as text (and the socket, to send whatever it likes). */
export async function startStub(answer: (text: string, socket: WebSocket) => void): Promise<Stub> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  const received: string[] = []
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      received.push(data.toString())
      answer(data.toString(), socket)
    })
  })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of wss.clients) socket.terminate()
        wss.close(() => resolve())
      }),
  }
}

/** A reply envelope to a request frame. */
export function replyTo(text: string, ok: boolean, payload: unknown, from = 'localhost', to?: string): string {
  let request: { id?: unknown; type?: unknown } = {}
  try {
    request = JSON.parse(text)
  } catch {
    // not JSON: answered with id ""
  }
  const id = typeof request.id === 'string' ? request.id : ''
  const type = typeof request.type === 'string' ? request.type : ''
  return JSON.stringify(to === undefined ? { id, type, from, ok, payload } : { id, type, from, to, ok, payload })
}
