#!/usr/bin/env node
// The hafnium command: the compiled src/cli/entry.ts (built by `npm install` through the prepare script).
import '../dist/cli/entry.js'
