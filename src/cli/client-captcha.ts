// The REPL's captcha step: a captcha_required reply is solved by the client library and the request sent
// once more, with a line saying so (README > Captcha).
import type { CaptchaEvent, ErrorPayload, HafniumClient, ReplyEnvelope } from '../client/index.ts'
import type { Style } from './client-format.ts'

/** client.send(), but a captcha_required reply is solved and the request repeated with the solution. */
export async function sendSolving(client: HafniumClient, message: { type: string; payload: object }): Promise<ReplyEnvelope> {
  const reply = await client.send(message)
  const error = reply.ok ? undefined : (reply.payload as ErrorPayload)
  if (error?.errID !== 'captcha_required') return reply
  const captcha = await client.solveCaptcha(message.type, error.errPayload?.challenge)
  return captcha === undefined ? reply : client.send({ ...message, payload: { ...message.payload, captcha } })
}

export function formatCaptcha(event: CaptchaEvent, style: Style): string | undefined {
  switch (event.stage) {
    case 'solving':
      return undefined
    case 'solved':
      return style.dim(`· solved a captcha in ${event.ms} ms, retrying`)
    case 'failed':
      return style.error(`· could not solve the captcha (${event.reason} after ${event.ms} ms)`)
  }
}
