// The bench's database: N accounts with realistic profiles, built once per run and copied for each server.
import { hash } from '@node-rs/argon2'
import { copyFileSync } from 'node:fs'
import Database from '../src/store/driver.ts'
import { openStore } from '../src/store/index.ts'
import { formatUserID } from '../src/identifiers.ts'

export interface Fixture {
  path: string
  count: number
  /** Every fixture account's password (one argon2id hash, as the server's defaults make it, shared by all). */
  password: string
  username(i: number): string
  userID(i: number): string
}

const firstNames = ['Amara', 'Björn', 'Chen', 'Dalia', 'Emeka', 'Farah', 'Giulia', 'Hiro', 'Ines', 'Jonas', 'Kalani', 'Lena', 'Mateo', 'Nadia', 'Oskar', 'Priya']
const lastNames = ['Okafor', 'Lindqvist', 'Wei', 'Haddad', 'Mensah', 'Rahimi', 'Romano', 'Tanaka', 'Duarte', 'Weber', 'Kahale', 'Novak', 'Silva', 'Petrova', 'Berg', 'Iyer']
const zones = ['Europe/Berlin', 'America/Sao_Paulo', 'Asia/Tokyo', 'Africa/Lagos', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Pacific/Honolulu']
const locales = ['de-DE', 'pt-BR', 'ja-JP', 'en-NG', 'fr-FR', 'en-US', 'hi-IN', 'en-US']

/** Deterministic per index (the same database every run), varied like real sign-ups: some fields absent. */
export function profileOf(i: number): Record<string, unknown> {
  const first = firstNames[i % firstNames.length]!
  const last = lastNames[Math.floor(i / firstNames.length) % lastNames.length]!
  const profile: Record<string, unknown> = {
    name: `${first} ${last}`,
    nickname: `${first.toLowerCase()}${i % 97}`,
    locale: locales[i % locales.length],
    zoneinfo: zones[i % zones.length],
    email_public: i % 3 === 0,
  }
  if (i % 2 === 0) profile.picture = `https://cdn.example.org/avatars/${(i * 2654435761) % 4294967296}.jpg`
  if (i % 5 === 0) profile.website = `https://${first.toLowerCase()}-${last.toLowerCase()}.example.net/`
  if (i % 4 === 0) profile.birthdate = `19${70 + (i % 30)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`
  return profile
}

export const fixturePassword = 'correct-horse-fixture-battery'
/** The server's default argon2id parameters (server.config.json), so logins cost what they cost in production. */
export const fixtureHash = () => hash(fixturePassword, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1, outputLen: 32 })

/**
 * Builds the fixture at `path`: the store's own schema (openStore runs the migrations), then every account
 * and its verified email in one transaction of prepared INSERTs — seconds, where 100,000 registrations
 * would take an argon2 hash each (~10 minutes on this machine).
 */
export async function buildFixture(path: string, count: number, domain = 'localhost'): Promise<Fixture> {
  openStore(path, { synchronous: 'normal', busyTimeoutMs: 1000, lock: false }).close()
  const password = fixturePassword
  const passwordHash = await fixtureHash()
  const username = (i: number) => `user${i}`
  const userID = (i: number) => formatUserID(username(i), domain)
  const db = new Database(path)
  const insertAccount = db.prepare(
    `INSERT INTO accounts (id, username, user_id, password_hash, status, profile, guest, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'active', ?, 0, ?, ?)`,
  )
  const insertEmail = db.prepare("INSERT INTO thirdpids (medium, address, account_id, verified, added_at) VALUES ('email', ?, ?, 1, ?)")
  const now = Date.now()
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = `fixture${String(i).padStart(9, '0')}`
      const created = now - (count - i) * 60_000
      insertAccount.run(id, username(i), userID(i), passwordHash, JSON.stringify(profileOf(i)), created, created)
      insertEmail.run(`${username(i)}@mail.example.org`, id, created)
    }
  })()
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  return { path, count, password, username, userID }
}

/** A copy of the fixture for one server (its writes must not leak into the next scenario). */
export function copyFixture(fixture: Fixture, to: string): void {
  copyFileSync(fixture.path, to)
  copyFileSync(`${fixture.path}.key`, `${to}.key`)
}
