// The hafnium command run from source (node --import tsx src/cli/entry.ts …): bin/hafnium.js without the build.
import { main } from './main.ts'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    console.error(error)
    process.exitCode = 1
  },
)
