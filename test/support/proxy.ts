// A WebSocket relay between a client and a test server that can lose a chosen server frame by cutting the
// client's connection instead of forwarding it (a reply lost in a disconnect).
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'

export interface DroppingProxy {
  readonly url: string
  /** The next server frame for which `match(text)` is true is not forwarded: both sides are cut instead. */
  dropNext(match: (text: string) => boolean): Promise<string>
  /** Cuts every relayed connection (as a network failure would). */
  cutAll(): void
  close(): Promise<void>
}

export async function startDroppingProxy(target: string): Promise<DroppingProxy> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const pairs = new Set<{ client: WebSocket; upstream: WebSocket }>()
  let armed: { match: (text: string) => boolean; resolve: (text: string) => void } | null = null

  wss.on('connection', (client) => {
    const upstream = new WebSocket(target)
    const pair = { client, upstream }
    pairs.add(pair)
    const pending: string[] = []
    const cut = () => {
      pairs.delete(pair)
      client.terminate()
      upstream.terminate()
    }
    client.on('message', (data) => (upstream.readyState === WebSocket.OPEN ? upstream.send(data.toString()) : pending.push(data.toString())))
    upstream.on('open', () => pending.splice(0).forEach((text) => upstream.send(text)))
    upstream.on('message', (data) => {
      const text = data.toString()
      if (armed?.match(text)) {
        const { resolve } = armed
        armed = null
        cut()
        return resolve(text)
      }
      client.send(text)
    })
    client.on('close', cut)
    upstream.on('close', cut)
    client.on('error', cut)
    upstream.on('error', cut)
  })

  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    dropNext: (match) => new Promise((resolve) => (armed = { match, resolve })),
    cutAll: () => [...pairs].forEach(({ client, upstream }) => (client.terminate(), upstream.terminate())),
    close() {
      // ws ≥ 8 leaves open connections alone on close(), and its callback waits for them.
      for (const client of wss.clients) client.terminate()
      for (const { upstream } of pairs) upstream.terminate()
      return new Promise((resolve) => wss.close(() => resolve()))
    },
  }
}
