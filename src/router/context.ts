// The handler's context: a request's own fields, the server's dependencies behind getters.
import type { Connection, Context, Deps, MessageType } from '../handler.ts'

/**
 * Makes the handlers' contexts: a request's own four fields on the object, the dependencies behind getters
 * on its prototype, read from `deps` at each use (tests swap a dependency, the clock or the hasher, on a
 * running server). `{ ...deps, … }` made every message leave ~1.5 KB that survived two scavenges (V8
 * promoted it), so old space filled and mark-compacts paused the loop every ~3 s (bench, server:ping at
 * 10k/s); copying the 13 dependencies field by field still built a 17-field object per request.
 */
export function contextMaker(deps: Deps): (type: string, requestID: string, payload: Record<string, unknown>, conn: Connection) => Context<MessageType> {
  class RequestContext {
    constructor(
      readonly type: string,
      readonly requestID: string,
      readonly payload: Record<string, unknown>,
      readonly conn: Connection,
    ) {}
    get config() { return deps.config }
    get store() { return deps.store }
    get clock() { return deps.clock }
    get limiter() { return deps.limiter }
    get log() { return deps.log }
    get sessions() { return deps.sessions }
    get seen() { return deps.seen }
    get passwords() { return deps.passwords }
    get nameBackoff() { return deps.nameBackoff }
    get captcha() { return deps.captcha }
    get oidc() { return deps.oidc }
    get delivery() { return deps.delivery }
    get server() { return deps.server }
  }
  return (type, requestID, payload, conn) => new RequestContext(type, requestID, payload, conn) as unknown as Context<MessageType>
}
