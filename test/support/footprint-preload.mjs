// Preloaded with --import (test/cli/serve-footprint.test.ts): names every package the process loads, by ESM
// import (the resolve hook) or by require (createRequire: better-sqlite3 and pino-pretty), one
// "footprint: <package>" line each on stderr.
import Module, { register } from 'node:module'
import { report } from './footprint-resolve.mjs'

register('./footprint-resolve.mjs', import.meta.url)
const load = Module._load
Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments)
  try {
    report(Module._resolveFilename(request, parent, isMain))
  } catch {} // a request that cannot be resolved again from here: left unnamed, the load itself went through
  return loaded
}
