// Email over SMTP (nodemailer): a 5xx reply is final, a 4xx reply or a connection failure is retried.
import type { Transporter } from 'nodemailer'
import { DeliveryError, type Transport } from '../message.ts'
import type { SmtpTransport } from '../../types/schemas.ts'

export function createSmtpTransport(config: SmtpTransport, timeoutMs: number): Transport {
  // Imported at the first message: a server that sends none keeps nodemailer out of its heap.
  let mailer: Promise<Transporter> | undefined
  const mailerOf = () =>
    (mailer ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({
        host: config.host,
        port: config.port,
        secure: config.secure,
        requireTLS: config.requireTLS ?? false,
        auth: config.auth,
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      }),
    ))
  return {
    async send(message) {
      const transport = await mailerOf()
      try {
        await transport.sendMail({
          from: config.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          // RFC 3834: no vacation auto-replies to a code.
          headers: { 'Auto-Submitted': 'auto-generated' },
        })
      } catch (error) {
        throw classify(error as Error & { code?: string; responseCode?: number; response?: string })
      }
    },
    close: async () => (await mailer)?.close(),
  }
}

function classify(error: Error & { code?: string; responseCode?: number }): DeliveryError {
  const { responseCode, code } = error
  if (typeof responseCode === 'number') {
    return new DeliveryError(`SMTP ${responseCode}: ${error.message}`, responseCode < 500)
  }
  // An address or message nodemailer itself refuses will be refused again; everything else is the connection.
  const final = code === 'EENVELOPE' || code === 'EMESSAGE'
  return new DeliveryError(`SMTP ${code ?? 'error'}: ${error.message}`, !final)
}
