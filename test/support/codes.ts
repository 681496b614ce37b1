// One-time codes in protocol tests: a server whose console transport appends to delivery.outboxFile, and
// the code read back from that file (the database keeps only keyed hashes, so there is nowhere else).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as assert from 'uvu/assert'
import type { DeepPartial } from '../../src/config.ts'
import type { Clock } from '../../src/rate-limit.ts'
import type { Config } from '../../src/types/schemas.ts'
import type { TestClient } from './client.ts'
import { startTestServer, type TestServer } from './server.ts'

/** A line of delivery.outboxFile (contract §10). */
export interface SentCode {
  channel: 'email' | 'msisdn'
  to: string
  purpose: string
  code: string
  text: string
  at: number
}

export interface CodeServer extends TestServer {
  readonly outboxFile: string
  /** Every message delivered so far (drains the outbox first). */
  sent(): Promise<SentCode[]>
  /** The code of the latest message to `to` (for `purpose`); fails the test if there is none. */
  lastCode(to: string, purpose?: string): Promise<string>
}

export async function startCodeServer(overrides: DeepPartial<Config> = {}, options: { clock?: Clock } = {}): Promise<CodeServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hafnium-codes-'))
  const outboxFile = join(dir, 'outbox.jsonl')
  const t = await startTestServer({ ...overrides, delivery: { ...overrides.delivery, outboxFile } }, { ...options, dir })
  async function sent(): Promise<SentCode[]> {
    await t.server.delivery.drainOnce()
    if (!existsSync(outboxFile)) return []
    return readFileSync(outboxFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as SentCode)
  }
  return {
    ...t,
    outboxFile,
    sent,
    async lastCode(to, purpose) {
      const match = (await sent()).filter((m) => m.to === to && (purpose === undefined || m.purpose === purpose)).at(-1)
      assert.ok(match, `no code was sent to ${to}${purpose ? ` for ${purpose}` : ''}`)
      return match.code
    },
    async close() {
      await t.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Asks for a code, reads it from the outbox and trades it for a verificationToken. */
export async function obtainToken(
  t: CodeServer,
  client: TestClient,
  request: { purpose: string; thirdPID?: string; username?: string; channel?: string },
  to: string,
): Promise<string> {
  const asked = await client.request('verification:request', request)
  assert.ok(asked.ok, JSON.stringify(asked))
  const code = await t.lastCode(to, request.purpose)
  const verified = await client.request('verification:verify', { verificationID: asked.payload.verificationID, code })
  assert.ok(verified.ok, JSON.stringify(verified))
  return verified.payload.verificationToken as string
}
