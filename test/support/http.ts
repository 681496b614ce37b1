// Plain HTTP(S) GETs with chosen headers (X-Forwarded-For, Authorization), bounded in time.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'

export interface HttpReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export function httpGet(url: string, options: { headers?: Record<string, string>; ca?: string | Buffer; timeoutMs?: number } = {}): Promise<HttpReply> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest
  const timeoutMs = options.timeoutMs ?? 10_000
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: options.headers, ca: options.ca, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}
