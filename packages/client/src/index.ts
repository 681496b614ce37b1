// @hafnium/client: a WebSocket client for Hafnium and other Cadmium-style servers, for browsers, Node, Deno and Bun.
export { HafniumClient } from './client.ts'
export type { DeviceAuthorization } from './device-authorization.ts'
export { CaptchaError, solveChallenge, encodeSolution, type CaptchaChallenge, type CaptchaFailure, type CaptchaSolution, type SolveOptions } from './captcha.ts'
export { HafniumConnectionError, HafniumError, type ConnectionErrorCode } from './errors.ts'
export type { Unsubscribe } from './emitter.ts'
export type {
  CaptchaEvent, CaptchaOptions, ClientOptions, ErrorPayload, EventEnvelope, ExtensionEvents, ExtensionMessages, EventPayload, EventType, Events, MessageType, Messages, ReconnectOptions, ReplyEnvelope,
  ReplyPayload, RequestEnvelope, RequestOptions, RequestPayload, RetryOptions, Session, Status, WebSocketConstructor, WebSocketLike,
} from './types.ts'
