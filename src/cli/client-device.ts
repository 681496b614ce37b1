// `hafnium client` device authorization commands: device-login (show a code, wait) and approve / deny CODE.
import type { HafniumClient } from '../client/index.ts'
import type { Style } from './client-format.ts'

/** Asks for a user code, prints it with what to do, and waits for the approval (or denial, or expiry). */
export async function deviceLogin(client: HafniumClient, deviceName: string, style: Style, print: (text: string) => void): Promise<'ok'> {
  const authorization = await client.requestDeviceAuthorization(deviceName ? { deviceName } : {})
  const minutes = Math.round(authorization.expiresIn / 60)
  print(`code ${style.ok(authorization.userCode)}: on a signed-in device, type  approve ${authorization.userCode}`)
  print(style.dim(`waiting for approval (the code works once, for ${minutes} min)…`))
  const session = await authorization.session // a denial or expiry rejects: the caller prints the HafniumError
  print(style.ok(`✓ signed in as ${session.userID}, device ${session.deviceID}`))
  return 'ok'
}
