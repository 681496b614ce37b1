// Renders a message's texts from delivery.templates: {code}, {purpose} and {server} replaced (HTML-escaped in html).
import type { Config } from '../types/schemas.ts'
import type { OutgoingMessage } from '../store/outbox.ts'
import type { RenderedMessage } from './message.ts'

type Templates = Config['delivery']['templates']

export function renderMessage(message: OutgoingMessage, templates: Templates, server: string, at: number): RenderedMessage {
  const values = {
    code: message.code,
    purpose: Object.hasOwn(templates.purposes, message.purpose) ? templates.purposes[message.purpose]! : message.purpose,
    server,
  }
  const { channel, to, purpose, code } = message
  const base = { channel, to, purpose, code, at }
  if (channel === 'msisdn') return { ...base, text: fill(templates.sms.text, values) }
  return {
    ...base,
    subject: fill(templates.email.subject, values),
    text: fill(templates.email.text, values),
    html: fill(templates.email.html, values, escapeHTML),
  }
}

function fill(template: string, values: Record<'code' | 'purpose' | 'server', string>, escape = (s: string) => s): string {
  // One pass, so a value that itself contains "{code}" is not replaced again.
  return template.replace(/\{(code|purpose|server)\}/g, (_, name: keyof typeof values) => escape(values[name]))
}

function escapeHTML(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
