// The hafnium command: runs main() on the arguments and sets the exit code. bin/hafnium.js runs its build
// (dist/cli/entry.js); from source: node --import tsx src/cli/entry.ts ….
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
