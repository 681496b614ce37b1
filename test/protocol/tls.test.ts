// Native TLS (contract §11): wss:// and https:// on one port with PEM files made at test time (openssl),
// and a renewed certificate served after SIGHUP without a restart.
import { execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { connect as netConnect } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestServer } from '../support/server.ts'
import { httpGet } from '../support/http.ts'
import { runCli } from '../support/process.ts'
import { connect } from '../support/client.ts'
import { deadline } from '../hardening/support.ts'

const dir = mkdtempSync(join(tmpdir(), 'hafnium-tls-'))

/** A self-signed certificate for localhost/127.0.0.1; `name` goes in its subject so two differ visibly. */
function makeCertificate(name: string): { cert: string; key: string; pem: Buffer } {
  const cert = join(dir, `${name}.crt`)
  const key = join(dir, `${name}.key`)
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  )
  return { cert, key, pem: readFileSync(cert) }
}

/** The CN of the certificate the server presents to a new TLS connection. */
function servedName(port: number): Promise<string> {
  return deadline(
    new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve(String(socket.getPeerCertificate().subject.CN))
        socket.end()
      })
      socket.on('error', reject)
    }),
    10_000,
    'a TLS handshake',
  )
}

/** Resolves when the child has written `text` on stderr (from now on), within `ms`. */
function stderrLine(child: ChildProcess, text: string, ms = 10_000): Promise<void> {
  let seen = ''
  return deadline(
    new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        seen += chunk
        if (!seen.includes(text)) return
        child.stderr!.off('data', onData)
        resolve()
      }
      child.stderr!.on('data', onData)
    }),
    ms,
    `"${text}" in the server's log`,
  )
}

const first = makeCertificate('first')
const second = makeCertificate('second')

test('wss:// and https:// on the same port; the URL says wss', async () => {
  const t = await startTestServer({ server: { tls: { cert: first.cert, key: first.key } } })
  try {
    assert.match(t.url, /^wss:\/\/127\.0\.0\.1:\d+\/$/)
    const c = await connect(t.url, { ca: first.pem })
    assert.is((await deadline(c.request('server:ping'), 10_000, 'server:ping over wss')).ok, true)
    c.close()
    const base = t.url.replace('wss://', 'https://')
    const health = await httpGet(base + 'healthz', { ca: first.pem })
    assert.equal([health.status, JSON.parse(health.body)], [200, { status: 'ok' }])
    assert.is((await httpGet(base + 'metrics', { ca: first.pem })).status, 200)
    const plain = await httpGet(t.url.replace('wss://', 'http://') + 'healthz').then(
      () => 'answered',
      () => 'refused',
    )
    assert.is(plain, 'refused', 'no plain HTTP on a TLS port')
  } finally {
    await t.close()
  }
})

test('a TCP peer that never starts the TLS handshake is dropped after server.headersTimeoutMs', async () => {
  const t = await startTestServer({ server: { tls: { cert: first.cert, key: first.key }, headersTimeoutMs: 500 } })
  try {
    const started = Date.now()
    const socket = netConnect({ host: '127.0.0.1', port: t.server.port })
    socket.on('error', () => {})
    await deadline(new Promise((resolve) => socket.once('close', resolve)), 10_000, 'the server to drop a silent TLS peer (Node default: 120 s)')
    assert.ok(Date.now() - started >= 400, 'not before the timeout')
  } finally {
    await t.close()
  }
})

test('files that cannot be read, or a key that does not match, stop start-up naming the key', async () => {
  await startTestServer({ server: { tls: { cert: join(dir, 'missing.crt'), key: first.key } } }).then(
    () => assert.unreachable('started'),
    (error: Error) => assert.match(error.message, /^config: server\.tls\.cert: cannot read .*missing\.crt: ENOENT/),
  )
  await startTestServer({ server: { tls: { cert: first.cert, key: second.key } } }).then(
    () => assert.unreachable('started'),
    (error: Error) => assert.match(error.message, /^config: server\.tls: .* are not a usable certificate and key/),
  )
})

test('hafnium serve: ready line says wss://; after SIGHUP new connections get the renewed certificate', async () => {
  const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') }
  writeFileSync(live.cert, readFileSync(first.cert))
  writeFileSync(live.key, readFileSync(first.key))
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({ server: { tls: live }, log: { level: 'info' } }))
  const cli = runCli(['serve', '--config', config, '--port', '0', '--db', join(dir, 'serve.db')])
  try {
    const url = await deadline(cli.ready, 20_000, 'the ready line')
    assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+\/$/)
    const port = Number(new URL(url).port)
    assert.is(await servedName(port), 'first')
    const open = await connect(url, { ca: first.pem })

    // Renewal as certbot does it: new files in place, then a reload.
    writeFileSync(live.cert + '.new', readFileSync(second.cert))
    writeFileSync(live.key + '.new', readFileSync(second.key))
    renameSync(live.cert + '.new', live.cert)
    renameSync(live.key + '.new', live.key)
    const reloaded = stderrLine(cli.child, 'TLS certificate reloaded')
    cli.child.kill('SIGHUP')
    await reloaded
    assert.is(await servedName(port), 'second', 'a new connection gets the renewed certificate')
    assert.is((await deadline(open.request('server:ping'), 10_000, 'a ping on the connection opened before')).ok, true)

    // A broken renewal keeps the working certificate.
    writeFileSync(live.key, 'not a key')
    const failed = stderrLine(cli.child, 'TLS reload failed; still serving the previous certificate')
    cli.child.kill('SIGHUP')
    await failed
    const c = await connect(url, { ca: second.pem })
    assert.is((await deadline(c.request('server:ping'), 10_000, 'a ping after a bad reload')).ok, true)
    assert.is(await servedName(port), 'second')
    open.close()
    c.close()
  } finally {
    cli.child.kill('SIGTERM')
    const exited = await deadline(cli.exited, 20_000, 'the server to exit')
    assert.is(exited.code, 0, exited.stderr)
  }
})

test.after(() => rmSync(dir, { recursive: true, force: true }))

test.run()
