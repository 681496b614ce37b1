// A code on its way out, as the outbox stores it: apart from outbox.ts so the public types need no better-sqlite3.
export interface OutgoingMessage {
  channel: 'email' | 'msisdn'
  to: string
  purpose: string
  code: string
}
