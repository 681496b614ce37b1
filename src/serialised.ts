// A reply payload whose JSON was made ahead and kept (a cached profile view): the router splices the text
// into the reply instead of serialising the object again.
const serialised = new WeakMap<object, string>()

/** Records `json` as the serialisation of `value`, which must be frozen (a later change would not be in the text). */
export function withSerialised<T extends object>(value: T, json: string): T {
  if (!Object.isFrozen(value)) throw new Error('withSerialised: the value must be frozen')
  serialised.set(value, json)
  return value
}

/** The JSON recorded for `value`, if any. */
export function serialisedOf(value: object): string | undefined {
  return serialised.get(value)
}
