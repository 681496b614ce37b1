// Extension types as router entries: the context they get (payload, user, notify, log) and their refusals.
import type { ValidateFunction } from 'ajv'
import type { Logger } from 'pino'
import type { AnyHandler, Context, MessageType } from '../handler.ts'
import type { Store } from '../store/index.ts'
import type { ExtensionContext, ExtensionUser, ExtensionUsers, Notify } from './define.ts'
import { errors } from '../errors.ts'
import type { LoadedType } from './load.ts'
import { notifier, type EventBus } from './notify.ts'

/** A refusal thrown by an extension, as the router answers it (its errID is not in the server's table). */
export class ExtensionRefusalError extends Error {
  constructor(
    readonly errID: string,
    readonly errText: string,
    readonly errPayload: Record<string, unknown> | undefined,
  ) {
    super(`refused: ${errID}`)
    this.name = 'ExtensionRefusalError'
  }
}

export interface ExtensionRoute {
  handler: AnyHandler
  validate: ValidateFunction
}

const errIDPattern = /^[a-z_]{1,64}$/

export function extensionRoutes(types: readonly LoadedType[], bus: EventBus, store: Store): ExtensionRoute[] {
  const notify = notifier(bus)
  const users: ExtensionUsers = {
    async exists(userID) {
      if (typeof userID !== 'string' || userID.length > 512) return false
      return (await store.accounts.byUserID(userID))?.status === 'active'
    },
  }
  return types.map((loaded) => ({
    validate: loaded.validate,
    handler: {
      type: loaded.type,
      auth: loaded.auth,
      async handle(ctx) {
        const session = ctx.conn.session
        const user = session ? { userID: session.userID, deviceID: session.deviceID } : null
        const context = new RequestContext(ctx, user, notify, users)
        let result: unknown
        try {
          result = await loaded.handle(context)
        } catch (thrown) {
          throw asRefusal(thrown) ?? thrown
        }
        if (result === undefined) return {}
        // The reply payload is a JSON object (contract §2); anything else is the extension's bug: internal_error.
        if (typeof result !== 'object' || result === null || Array.isArray(result)) {
          throw new TypeError(`extension ${loaded.module}: ${loaded.type} returned ${Array.isArray(result) ? 'an array' : typeof result}, not an object`)
        }
        return result
      },
    } satisfies AnyHandler,
  }))
}

/**
 * An extension handler's context. A class, its logger a getter on the prototype: an object literal with a
 * getter, one per request, cost ~0.5 µs to build (V8 defines the accessor at run time; ~2.7% of chat:send's
 * server CPU), a class instance next to nothing. The child logger is made on first use: building one
 * (bindings, redaction) cost ~9% of chat:send.
 */
class RequestContext implements ExtensionContext {
  readonly payload: Record<string, unknown>
  readonly type: string
  readonly requestID: string
  #log: Logger | undefined
  readonly #server: Logger

  constructor(
    ctx: Context<MessageType>,
    readonly user: ExtensionUser | null,
    readonly notify: Notify,
    readonly users: ExtensionUsers,
  ) {
    this.payload = ctx.payload as Record<string, unknown>
    this.type = ctx.type
    this.requestID = ctx.requestID
    this.#server = ctx.log
  }

  get log(): Logger {
    return (this.#log ??= this.#server.child({ requestID: this.requestID, type: this.type }))
  }
}

/** `{errID, errText?, errPayload?}` with a valid errID (a plain object, or an Error carrying them); else undefined. */
function asRefusal(thrown: unknown): ExtensionRefusalError | undefined {
  if (typeof thrown !== 'object' || thrown === null) return undefined
  const { errID, errText, errPayload } = thrown as Record<string, unknown>
  if (typeof errID !== 'string' || !errIDPattern.test(errID)) return undefined
  if (errText !== undefined && (typeof errText !== 'string' || errText.length > 1000)) return undefined
  if (errPayload !== undefined && (typeof errPayload !== 'object' || errPayload === null || Array.isArray(errPayload))) return undefined
  const text = errText ?? (errID in errors ? errors[errID as keyof typeof errors] : errID.replace(/_/g, ' '))
  return new ExtensionRefusalError(errID, text, errPayload as Record<string, unknown> | undefined)
}
