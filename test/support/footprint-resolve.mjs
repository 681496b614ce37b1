// The resolve hook of footprint-preload.mjs (module hooks run on a thread of their own): one
// "footprint: <package>" line on stderr for each package imported.
export function report(file) {
  const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1]
  if (name) process.stderr.write(`footprint: ${name}\n`)
}

export async function resolve(specifier, context, next) {
  const found = await next(specifier, context)
  report(found.url)
  return found
}
