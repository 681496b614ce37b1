// Heavy tier: the server behind a real nginx with the shipped deploy/ files — wss works, per-client IP
// rules hold through the proxy (a spoofed X-Forwarded-For changes nothing), /metrics is not reachable.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { createServer, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket from 'ws'
import { runCli, type CliProcess } from '../support/process.ts'
import { deadline } from './support.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const domain = 'chat.example.org'

interface Ctx {
  dir: string
  cli: CliProcess
  nginx: ChildProcess
  ca: Buffer
  proxyPort: number
  serverPort: number
}

const test = suite<Ctx>('hardening (heavy): behind nginx with deploy/')

/** The Debian package, installed when missing (as root); otherwise the tier fails saying how to get it. */
function nginxBinary(): string {
  const find = () => ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => spawnSync(path, ['-v']).status === 0)
  const found = find()
  if (found) return found
  if (process.getuid?.() === 0 && spawnSync('apt-get', ['--version']).status === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'nginx']]) {
      const result = spawnSync('apt-get', args, { env, timeout: 300_000, encoding: 'utf8' })
      if (result.status !== 0) throw new Error(`nginx is needed by this test and apt-get ${args.join(' ')} failed:\n${result.stderr}`)
    }
    const installed = find()
    if (installed) return installed
  }
  throw new Error('nginx is needed by this test and is not installed: run `apt-get install -y nginx` (Debian) or put nginx in /usr/sbin')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.once('error', reject)
  })
}

/** The shipped site with test ports and certificate; each anchor must still be in the shipped file. */
function templateSite(ctx: { proxyPort: number; serverPort: number; httpPort: number; dir: string }): string {
  let site = readFileSync(join(root, 'deploy/nginx-hafnium.conf'), 'utf8')
  const replace = (from: string, to: string) => {
    assert.ok(site.includes(from), `deploy/nginx-hafnium.conf no longer contains "${from}" (update this test's template)`)
    site = site.split(from).join(to)
  }
  replace('    listen [::]:443 ssl;\n', '')
  replace('    listen [::]:80;\n', '')
  replace('listen 443 ssl;', `listen 127.0.0.1:${ctx.proxyPort} ssl;`)
  replace('listen 80;', `listen 127.0.0.1:${ctx.httpPort};`)
  replace('server 127.0.0.1:7777;', `server 127.0.0.1:${ctx.serverPort};`)
  replace('/etc/letsencrypt/live/chat.example.org/fullchain.pem', join(ctx.dir, 'cert.pem'))
  replace('/etc/letsencrypt/live/chat.example.org/privkey.pem', join(ctx.dir, 'key.pem'))
  return site
}

function waitForPort(port: number, label: string): Promise<void> {
  const attempt = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port }, () => {
        socket.destroy()
        resolve()
      })
      socket.once('error', () => setTimeout(() => resolve(attempt()), 50))
    })
  return deadline(attempt(), 15_000, label)
}

test.before(async (ctx) => {
  const nginx = nginxBinary()
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-nginx-'))
  chmodSync(ctx.dir, 0o755) // nginx workers (nobody) use the temp paths below
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(ctx.dir, 'key.pem'), '-out', join(ctx.dir, 'cert.pem')], { stdio: 'ignore' })
  ctx.ca = readFileSync(join(ctx.dir, 'cert.pem'))

  // The shipped production config as is; only the database file and the port are the test's.
  ctx.cli = runCli(['serve', '--config', join(root, 'deploy/server.config.json'), '--db', join(ctx.dir, 'hafnium.db'), '--port', '0'])
  const url = await deadline(ctx.cli.ready, 30_000, 'hafnium serve with deploy/server.config.json: ready line')
  ctx.serverPort = Number(new URL(url).port)

  ctx.proxyPort = await freePort()
  const httpPort = await freePort()
  writeFileSync(join(ctx.dir, 'site.conf'), templateSite({ ...ctx, httpPort }))
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(ctx.dir, sub))
  const temp = (name: string) => `${name}_temp_path ${join(ctx.dir, name === 'client_body' ? 'body' : name)};`
  writeFileSync(join(ctx.dir, 'nginx.conf'), `daemon off;
worker_processes 1;
pid ${join(ctx.dir, 'nginx.pid')};
error_log ${join(ctx.dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  include ${join(ctx.dir, 'site.conf')};
}
`)
  const args = ['-p', ctx.dir, '-e', join(ctx.dir, 'error.log'), '-c', join(ctx.dir, 'nginx.conf')]
  const check = spawnSync(nginx, [...args, '-t'], { encoding: 'utf8' })
  assert.is(check.status, 0, `nginx -t refused the shipped site:\n${check.stderr}`)
  ctx.nginx = spawn(nginx, args, { stdio: 'ignore' })
  await waitForPort(ctx.proxyPort, 'nginx listening')
})

test.after(async (ctx) => {
  ctx.nginx?.kill('SIGQUIT')
  ctx.cli?.child.kill('SIGTERM')
  if (ctx.cli) await deadline(ctx.cli.exited, 15_000, 'hafnium serve exit').catch(() => {})
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true })
})

interface Client {
  request(type: string, payload: unknown): Promise<{ ok: boolean; payload: { errID?: string } & Record<string, unknown> }>
  close(): void
}

/** A wss:// client through nginx from a given loopback address, optionally sending its own X-Forwarded-For. */
function connect(ctx: Ctx, localAddress: string, headers: Record<string, string> = {}): Promise<Client> {
  const ws = new WebSocket(`wss://127.0.0.1:${ctx.proxyPort}/`, { ca: ctx.ca, localAddress, headers })
  const waiting = new Map<string, (reply: any) => void>()
  let counter = 0
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString())
    waiting.get(frame.id)?.(frame)
    waiting.delete(frame.id)
  })
  const client: Client = {
    request(type, payload) {
      const id = String(++counter)
      ws.send(JSON.stringify({ id, type, to: domain, payload }))
      return deadline(new Promise((resolve) => waiting.set(id, resolve)), 15_000, `${type} from ${localAddress} through nginx`)
    },
    close: () => ws.close(),
  }
  return deadline(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client))
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade through nginx answered HTTP ${res.statusCode}`)))
      ws.once('error', reject)
    }),
    15_000,
    `wss upgrade from ${localAddress}`,
  )
}

function httpsGet(ctx: Ctx, path: string): Promise<{ status: number; body: string }> {
  return deadline(
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: ctx.proxyPort, path, ca: ctx.ca, method: 'GET' }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.once('error', reject)
      req.end()
    }),
    15_000,
    `GET ${path} through nginx`,
  )
}

test('wss:// through nginx reaches the server, and /healthz answers', async (ctx) => {
  const client = await connect(ctx, '127.0.0.2')
  const reply = await client.request('server:ping', {})
  assert.is(reply.ok, true, JSON.stringify(reply))
  client.close()
  assert.equal(await httpsGet(ctx, '/healthz'), { status: 200, body: '{"status":"ok"}' })
})

test('register_ip holds per client through the proxy; a spoofed X-Forwarded-For changes nothing', async (ctx) => {
  const register = async (client: Client, username: string) => (await client.request('profile:register', { username, password: 'balcony-at-night-42' })).payload.errID ?? 'ok'
  // register_ip as shipped: 5 at once, then 1 per 20 s, per client address.
  const first = await connect(ctx, '127.0.0.3')
  const verdicts = []
  for (let i = 0; i < 6; i++) verdicts.push(await register(first, `first${i}`))
  assert.equal(verdicts, ['ok', 'ok', 'ok', 'ok', 'ok', 'ratelimit_exceed'])
  first.close()

  // The same client claiming to be someone else: nginx replaces the header, the server keys on 127.0.0.3.
  const spoofer = await connect(ctx, '127.0.0.3', { 'X-Forwarded-For': '203.0.113.9' })
  assert.is(await register(spoofer, 'spoofed'), 'ratelimit_exceed')
  spoofer.close()

  // Another client through the same proxy is not locked out by the first (it would be, keyed on nginx's address).
  const second = await connect(ctx, '127.0.0.4', { 'X-Forwarded-For': '127.0.0.3' })
  assert.is(await register(second, 'second0'), 'ok')
  second.close()
})

test('/metrics is not served through the proxy, however the path is spelled', async (ctx) => {
  for (const path of ['/metrics', '/metrics?format=text', '//metrics', '/./metrics', '/%6Detrics']) {
    const answer = await httpsGet(ctx, path)
    assert.is(answer.status, 404, `${path} through nginx answered ${answer.status}`)
    assert.not.match(answer.body, /hafnium_/, `${path} leaked metrics`)
  }
})

test.run()
