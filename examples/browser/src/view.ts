// The page's DOM: finding elements, the status line, busy forms, failures in words and the device table. No requests here.
import { HafniumConnectionError, HafniumError, type ReplyPayload } from '@hafnium/client'

export type Device = ReplyPayload<'device:list'>['devices'][number]

/** The element with this id; the page is static, so a missing one is a bug worth a loud error. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id)
  if (!element) throw new Error(`the page has no #${id}`)
  return element as T
}

export const field = (id: string) => byId<HTMLInputElement>(id)

/** Says what happened in the live region (screen readers announce it). */
export function announce(text: string) {
  byId('status').textContent = text
}

/** Runs `work` with the buttons of `scope` disabled, so a second click cannot send the request twice. */
async function busy(scope: HTMLElement, work: () => Promise<void>) {
  const buttons = [...scope.querySelectorAll('button')]
  for (const button of buttons) button.disabled = true
  scope.setAttribute('aria-busy', 'true')
  try {
    await work()
  } finally {
    for (const button of buttons) button.disabled = false
    scope.removeAttribute('aria-busy')
  }
}

/** Words for a failure: the server's errText for a refusal, the reason for a transport failure. */
export function failure(error: unknown): string {
  if (error instanceof HafniumError) return `${error.errText || error.errID} (${error.errID}).`
  // Its message names the URL and, where the browser tells, why (browsers mostly do not).
  if (error instanceof HafniumConnectionError) return `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`
  return `Something went wrong: ${error instanceof Error ? error.message : String(error)}.`
}

/** Runs one user action with its buttons disabled; any failure ends up in the status line. */
export function action(scope: HTMLElement, work: () => Promise<void>) {
  void busy(scope, async () => {
    try {
      await work()
    } catch (error) {
      announce(failure(error))
    }
  })
}

/** Runs `work` when the form is submitted (Enter or its submit button), instead of navigating. */
export function onSubmit(id: string, work: (form: HTMLFormElement) => Promise<void>) {
  const form = byId<HTMLFormElement>(id)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    action(form, () => work(form))
  })
}

export function showSignedIn(signedIn: { userID: string; deviceID: string } | null) {
  byId('signed-in').hidden = !signedIn
  byId('signed-out').hidden = !!signedIn
  // The server URL cannot change under a live session: the session belongs to that server.
  field('server-url').disabled = !!signedIn
  byId('user-id').textContent = signedIn?.userID ?? ''
  field('sudo-username').value = signedIn?.userID ?? ''
  byId('device-id').textContent = signedIn?.deviceID ?? ''
  if (!signedIn) byId('device-rows').replaceChildren()
}

/** One row per device; every device but this one gets a revoke button named after it. */
export function renderDevices(devices: Device[], revoke: (device: Device) => void) {
  const rows = devices.map((device) => {
    const row = document.createElement('tr')
    const state = [device.current ? 'this device' : '', device.online ? 'online' : 'offline'].filter(Boolean).join(', ')
    for (const text of [device.name, state, new Date(device.lastSeenAt).toLocaleString()]) {
      const cell = document.createElement('td')
      cell.textContent = text // textContent, never innerHTML: a device name is whatever its owner typed
      row.append(cell)
    }
    const action = document.createElement('td')
    if (!device.current) {
      const button = document.createElement('button')
      button.type = 'button'
      button.textContent = 'Revoke'
      button.setAttribute('aria-label', `Revoke ${device.name} (${device.deviceID})`)
      button.addEventListener('click', () => revoke(device))
      action.append(button)
    }
    row.append(action)
    return row
  })
  byId('device-rows').replaceChildren(...rows)
}

export function showCode(code: { userCode: string; expiresIn: number } | null) {
  byId('code-box').hidden = !code
  byId('device-code').textContent = code?.userCode ?? ''
  byId('code-expiry').textContent = code ? `It works for ${Math.round(code.expiresIn / 60)} minutes.` : ''
}

/** Why the server signed this device out, in words (profile:session_revoked's reason). */
export function revocationText(reason: string): string {
  switch (reason) {
    case 'revoked':
      return 'Signed out: this device was revoked from another device.'
    case 'password_changed':
      return 'Signed out: the password was changed on another device.'
    case 'deactivated':
      return 'Signed out: the account was deactivated.'
    case 'expired':
      return 'Signed out: this device was not used for too long.'
    default:
      return 'Signed out.'
  }
}
