// The browser example: sign up, log in, sign in by code, the device list kept live, revocation — on @hafnium/client alone.
import { HafniumClient, HafniumError, type Session } from '@hafnium/client'
import * as saved from './saved-session.ts'
import { action, announce, byId, failure, field, onSubmit, renderDevices, revocationText, showCode, showSignedIn, type Device } from './view.ts'

/** The shipped server.config.json listens here; `?server=ws://…` (or the field) points the page elsewhere. */
const defaultServer = 'ws://127.0.0.1:7777/'

let client: HafniumClient | null = null
let clientFor = '' // the server URL `client` was opened for
let me: Session | null = null
let codeWait = 0 // which device-code request is current: an older one's outcome is ignored

/** The client for the URL in the field, opening (or re-opening) it when needed. */
async function connection(): Promise<HafniumClient> {
  const url = field('server-url').value.trim()
  if (client?.isOpen && clientFor === url) return client
  void client?.close()
  clientFor = url
  // reconnect: a dropped socket comes back on its own and re-authenticates the session.
  client = await HafniumClient.connect(url, { reconnect: { maxAttempts: 10 }, requestTimeoutMs: 15_000 })
  watch(client)
  return client
}

/** Server events and connection changes that the page shows. */
function watch(c: HafniumClient) {
  c.on('device:new_login', ({ deviceName }) => {
    announce(`New sign-in on your account: ${deviceName}.`)
    void refreshDevices()
  })
  c.on('profile:session_revoked', ({ deviceID, reason }) => {
    if (me && deviceID === me.deviceID) signedOut(revocationText(reason))
  })
  // The client solves a captcha_required challenge (proof of work, WebCrypto) and repeats the request itself.
  c.onCaptcha((event) => {
    if (event.stage === 'solving') announce('Many requests came from here: solving a proof-of-work check (a second or so)…')
  })
  c.onStatus((status) => {
    if (c !== client || !me) return // an anonymous socket comes and goes (the server closes idle ones)
    if (status.status === 'disconnected') announce('Connection lost; reconnecting…')
    if (status.status === 'reconnected') {
      saved.save(clientFor, status.session) // its token, rotated by the re-authentication if the server rotates
      if (status.session) {
        announce('Reconnected.')
        void refreshDevices() // who is online may have changed meanwhile
      }
      else signedOut('Signed out: this device’s session ended while the connection was down.')
    }
    // The token still works: a reload resumes with it once the server is back.
    if (status.status === 'closed') signedOut('The connection to the server was lost; reload the page to sign in again.', { keepSaved: true })
  })
}

function signedIn(session: Session, how: string) {
  me = session
  saved.save(clientFor, client?.session ?? session)
  codeWait++
  showCode(null)
  showSignedIn(session)
  announce(`${how} as ${session.userID}.`)
  void refreshDevices()
}

function signedOut(message: string, options: { keepSaved?: boolean } = {}) {
  me = null
  if (!options.keepSaved) saved.save(clientFor, null)
  showSignedIn(null)
  announce(message)
}

const deviceName = () => field('device-name').value.trim() || 'web browser'

async function refreshDevices() {
  if (!me || !client) return
  try {
    const { devices } = await client.request('device:list')
    if (me) renderDevices(devices, revoke)
  } catch (error) {
    if (me) announce(failure(error)) // else a revocation overtook the list: its notice stays
  }
}

/** Revoking another device needs a sudoToken, and that needs the password again (a stolen open tab is not enough). */
function revoke(device: Device) {
  action(byId('devices'), async () => {
    const password = field('sudo-password').value
    if (!password) {
      announce(`Enter your password to revoke ${device.name}.`)
      field('sudo-password').focus()
      return
    }
    const c = await connection()
    const { sudoToken } = await c.request('profile:sudo', { password })
    await c.request('device:revoke', { deviceID: device.deviceID, sudoToken })
    field('sudo-password').value = ''
    announce(`Revoked ${device.name}.`)
    await refreshDevices()
  })
}

onSubmit('signup', async (form) => {
  const c = await connection()
  const username = field('signup-username').value.trim()
  const reply = await c.register(username, field('signup-password').value, { deviceName: deviceName() })
  form.reset()
  if (reply.loginPayload) signedIn(reply.loginPayload, 'Account created; signed in')
  else announce(`Account ${reply.userID} created; confirm it before logging in.`)
})

onSubmit('login', async (form) => {
  const c = await connection()
  const session = await c.login(field('login-id').value.trim(), field('login-password').value, { deviceName: deviceName() })
  form.reset()
  signedIn(session, 'Logged in')
})

byId('request-code').addEventListener('click', () =>
  action(byId('code-signin'), async () => {
    const c = await connection()
    const wait = ++codeWait
    const authorization = await c.requestDeviceAuthorization({ deviceName: deviceName() })
    showCode(authorization)
    announce(`Your sign-in code is ${authorization.userCode}. Approve it on a signed-in device.`)
    // Not awaited: the buttons stay usable while the page waits for someone to approve.
    authorization.session.then(
      (session) => wait === codeWait && !me && signedIn(session, 'Approved; signed in'),
      (error: unknown) => {
        if (wait !== codeWait || me) return
        showCode(null)
        const errID = error instanceof HafniumError ? error.errID : ''
        announce(errID === 'access_denied' ? 'The sign-in was denied.' : errID === 'code_expired' ? 'The code expired; get a new one.' : failure(error))
      },
    )
  }),
)

byId('logout').addEventListener('click', () =>
  action(byId('signed-in'), async () => {
    const c = await connection()
    const device = me
    me = null // the revocation event for this device is ours: not news
    try {
      await c.logout()
    } catch (error) {
      me = device
      throw error
    }
    signedOut('You logged out.')
  }),
)

byId('refresh-devices').addEventListener('click', () => void refreshDevices())
byId('sudo').addEventListener('submit', (event) => event.preventDefault()) // Enter there revokes nothing: the buttons do

const userCode = () => field('user-code').value.trim()
onSubmit('approve', async (form) => {
  const { deviceName: name } = await (await connection()).approveDevice(userCode())
  form.reset()
  announce(`Approved ${name}; it is now signed in to your account.`)
})
byId('deny').addEventListener('click', () =>
  action(byId('approve'), async () => {
    if (!userCode()) return announce('Enter the code shown on the other device.')
    await (await connection()).denyDevice(userCode())
    field('user-code').value = ''
    announce('Denied: that device was not signed in.')
  }),
)

/** After a reload: the tab's saved session, authenticated again (profile:auth) rather than a new login and device. */
async function resume(previous: saved.Saved) {
  field('server-url').value = previous.server
  announce('Signing in again…')
  try {
    const c = await connection()
    await c.auth(previous.session.authToken)
    signedIn(c.session ?? previous.session, 'Signed in again')
  } catch (error) {
    // Only a refused token is forgotten; a server that is down or busy (ratelimit_exceed) may take it later.
    if (!(error instanceof HafniumError && error.errID === 'invalid_token')) return announce(failure(error))
    saved.save(previous.server, null)
    announce('Your earlier session has ended; sign in again.')
  }
}

const asked = new URLSearchParams(location.search).get('server')
field('server-url').value = asked ?? defaultServer
showSignedIn(null)
const previous = saved.load()
// A session belongs to its server: a page opened for another one starts signed out.
if (previous && (asked === null || asked === previous.server)) void resume(previous)
