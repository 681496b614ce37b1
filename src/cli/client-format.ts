// How `hafnium client` shows replies, events and notices: coloured on a terminal, plain otherwise (NO_COLOR respected).
import type { ErrorPayload, EventEnvelope, ReplyEnvelope, Status } from '../client/index.ts'

export interface Style {
  ok(text: string): string
  error(text: string): string
  event(text: string): string
  dim(text: string): string
  key(text: string): string
  string(text: string): string
  number(text: string): string
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`
const plain = (text: string) => text

/** Colour only for a terminal, never with NO_COLOR set (no-color.org); FORCE_COLOR forces it. */
export function useColour(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true
}

export function createStyle(colour: boolean): Style {
  if (!colour) return { ok: plain, error: plain, event: plain, dim: plain, key: plain, string: plain, number: plain }
  return { ok: sgr(32, 39), error: sgr(31, 39), event: sgr(35, 39), dim: sgr(2, 22), key: sgr(36, 39), string: sgr(33, 39), number: sgr(34, 39) }
}

/** Indented JSON with coloured keys and values. */
export function prettyJson(value: unknown, style: Style, indent = '  '): string {
  const text = JSON.stringify(value, null, 2) ?? 'undefined'
  const coloured = text.replace(/("(?:[^"\\]|\\.)*")(\s*:)?|\b(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)\b/g, (match, str, colon, literal) => {
    if (str) return colon ? `${style.key(str)}${colon}` : style.string(str)
    return literal ? style.number(literal) : match
  })
  return coloured
    .split('\n')
    .map((line) => indent + line)
    .join('\n')
}

export function formatReply(reply: ReplyEnvelope, style: Style, elapsedMs?: number): string {
  const time = elapsedMs === undefined ? '' : style.dim(`  ${elapsedMs} ms`)
  const type = reply.type || '(no type)'
  if (reply.ok) {
    const body = isEmpty(reply.payload) ? '' : `\n${prettyJson(reply.payload, style)}`
    return `${style.ok('✓')} ${style.ok(type)}${time}${body}`
  }
  const { errID, errText, errPayload } = (reply.payload ?? {}) as Partial<ErrorPayload>
  const body = errPayload === undefined ? '' : `\n${prettyJson(errPayload, style)}`
  return `${style.error('✗')} ${style.error(`${type} ${errID ?? '(no errID)'}`)}: ${errText ?? ''}${time}${body}`
}

export function formatEvent(event: EventEnvelope, style: Style): string {
  const body = isEmpty(event.payload) ? '' : `\n${prettyJson(event.payload, style)}`
  return `${style.event('⚡')} ${style.event(event.type)} ${style.dim('(event)')}${body}`
}

export function formatStatus(status: Status, style: Style): string | undefined {
  switch (status.status) {
    case 'disconnected':
      return style.dim(`· connection closed by the server (${status.code}${status.reason ? ` ${status.reason}` : ''}); reconnecting when needed`)
    case 'reconnecting':
      return style.dim(`· reconnect attempt ${status.attempt} failed (${status.error?.message ?? 'error'}); retrying in ${status.delayMs} ms`)
    case 'reconnected':
      if (status.authError) return style.error(`· reconnected, but re-authentication failed: ${status.authError.message}`)
      return style.dim(status.session ? `· reconnected as ${status.session.userID}` : '· reconnected')
    case 'closed':
      return undefined
  }
}

function isEmpty(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0
}
