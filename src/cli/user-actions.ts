// The `hafnium user` subcommands' work, on the database file (see user.ts for their specs and help).
import { createAccount } from '../accounts/create.ts'
import { changePassword, disableAccount, type CredentialDeps } from '../accounts/credentials.ts'
import { expiresAt } from '../accounts/session-lifetime.ts'
import { ProtocolError } from '../errors.ts'
import { normaliseUsername, parseThirdPID, type ThirdPID } from '../identifiers.ts'
import { adminAudit, CliError, findAccount, readPassword, requireStrong, type Env, type Values } from './user-support.ts'

export async function add(env: Env, values: Values, [input]: string[]): Promise<void> {
  const username = normaliseUsername(input!)
  if (!username) throw new CliError(`"${input}" is not a valid username (1..64 characters from a-z 0-9 . _ = - /)`, 2)
  const thirdPIDs: ThirdPID[] = []
  for (const [type, value] of [['email', values.email], ['msisdn', values.phone]] as const) {
    if (value === undefined) continue
    const thirdPID = parseThirdPID({ type, value })
    if (!thirdPID) throw new CliError(`"${value}" is not a valid ${type === 'email' ? 'email address' : 'E.164 phone number'}`, 2)
    thirdPIDs.push(thirdPID)
  }
  const password = values['password-stdin'] ? await readPassword() : null
  if (password !== null) requireStrong(env.config, password, { username, thirdPIDs })
  try {
    // The administrator vouches for the addresses given: they are stored verified (they reserve themselves
    // and receive login and reset codes), as a signup code would have made them.
    const account = await createAccount(env, { username, thirdPIDs, proven: thirdPIDs, password, status: 'active' })
    adminAudit(env, 'admin.user.added', account, { withPassword: password !== null })
    process.stdout.write(`${account.userID}\n`)
  } catch (error) {
    if (error instanceof ProtocolError && error.errID === 'id_exists') throw new CliError('username or 3PID already taken')
    throw error
  }
}

export async function list(env: Env, values: Values): Promise<void> {
  const rows = []
  const page = 500
  for (let offset = 0; ; offset += page) {
    const accounts = await env.store.accounts.list(offset, page)
    for (const account of accounts) {
      rows.push({
        userID: account.userID,
        username: account.username,
        status: account.status,
        thirdPIDs: account.thirdPIDs,
        devices: await env.store.devices.count(account.id),
        createdAt: new Date(account.createdAt).toISOString(),
        deviceList: await deviceSummaries(env, account.id),
      })
    }
    if (accounts.length < page) break
  }
  if (values.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
  for (const row of rows) {
    const contacts = row.thirdPIDs.map((t) => t.value).join(',') || '-'
    const devices = `${row.devices} device${row.devices === 1 ? '' : 's'}`
    process.stdout.write(`${[row.userID, row.status, contacts, devices, row.createdAt].join('\t')}\n`)
  }
}

/**
 * Each device with when it was last seen and when it expires (sessions.idleTimeout / maxAge; null: never).
 * A running server writes last-seen times in batches (ratelimit.flushIntervalMs), so they may lag by that.
 */
async function deviceSummaries(env: Env, accountID: string) {
  const devices = await env.store.devices.list(accountID)
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
  return devices.map((device) => ({
    deviceID: device.id,
    name: device.name,
    createdAt: iso(device.createdAt),
    lastSeenAt: iso(device.lastSeenAt),
    expiresAt: iso(expiresAt(device, env.config.sessions)),
  }))
}

/**
 * The same domain operations as profile:deactivate and profile:set_password. This process reaches no
 * server's sockets: the server cuts a deleted device's sockets off at their next write or profile:auth.
 */
const noSockets: CredentialDeps['sessions'] = { revokeAccount() {}, revokeDevice() {} }

export async function setStatus(env: Env, who: string, status: 'active' | 'disabled'): Promise<void> {
  const account = await findAccount(env.store, who)
  if (status === 'active') {
    await env.store.accounts.setStatus(account.id, status, env.clock.now())
    adminAudit(env, 'admin.user.enabled', account)
    return void process.stdout.write(`${account.userID} enabled\n`)
  }
  const deleted = await disableAccount({ ...env, sessions: noSockets }, account.id)
  adminAudit(env, 'admin.user.disabled', account, { devices: deleted })
  process.stdout.write(`${account.userID} disabled; ${deleted} device(s) deleted\n`)
}

export async function show(env: Env, values: Values, [who]: string[]): Promise<void> {
  const account = await findAccount(env.store, who!)
  const devices = (await env.store.devices.list(account.id)).map((d) => ({
    deviceID: d.id,
    name: d.name,
    createdAt: new Date(d.createdAt).toISOString(),
    lastSeenAt: new Date(d.lastSeenAt).toISOString(),
    lastIP: d.lastIP,
  }))
  const view = {
    userID: account.userID,
    username: account.username,
    status: account.status,
    thirdPIDs: account.thirdPIDs,
    createdAt: new Date(account.createdAt).toISOString(),
    devices,
  }
  if (values.json) return void process.stdout.write(`${JSON.stringify(view, null, 2)}\n`)
  const contacts = account.thirdPIDs.map((t) => `${t.value}${t.verified ? '' : ' (unverified)'}`).join(', ') || '-'
  const lines = [`${view.userID}  ${view.status}  created ${view.createdAt}`, `contacts: ${contacts}`, `devices: ${devices.length}`]
  for (const d of devices) lines.push(`  ${d.deviceID}  ${JSON.stringify(d.name)}  last seen ${d.lastSeenAt} from ${d.lastIP ?? '-'}  (since ${d.createdAt})`)
  process.stdout.write(`${lines.join('\n')}\n`)
}

export async function erase(env: Env, values: Values, [who]: string[]): Promise<void> {
  const account = await findAccount(env.store, who!)
  const devices = await env.store.devices.count(account.id)
  const releaseUsername = values['release-username'] === true
  await env.store.accounts.erase(account.id, { releaseUsername, now: env.clock.now() })
  adminAudit(env, 'admin.user.deleted', account, { devices, releaseUsername })
  const name = releaseUsername ? 'its username is free again' : 'its username stays reserved'
  process.stdout.write(`${account.userID} deleted; ${devices} device(s) deleted; ${name}\n`)
}

export async function passwd(env: Env, values: Values, [who]: string[]): Promise<void> {
  if (!values['password-stdin']) throw new CliError('passwd reads the new password from stdin: add --password-stdin', 2)
  const account = await findAccount(env.store, who!)
  const password = await readPassword()
  requireStrong(env.config, password, account)
  const deleted = await changePassword({ ...env, sessions: noSockets }, { accountID: account.id, newPassword: password, clearFailures: true })
  adminAudit(env, 'admin.user.password_changed', account, { devices: deleted })
  process.stdout.write(`${account.userID}: password changed; ${deleted} device(s) deleted\n`)
}
