#!/usr/bin/env -S node --max-semi-space-size=4
// The hafnium command: the compiled src/cli/entry.ts (built by `npm install` through the prepare script).
// The flag caps V8's young generation at 4 MiB a semi-space (the default grows to 16): each scavenge then
// copies a quarter of what a cold read's cache entry promotes, so the server's longest routine pause is
// ~1-2 ms instead of ~4-5 (README > Performance). package.json's start script and deploy/hafnium.service
// pass the same flags (test/unit/node-flags.test.ts).
import '../dist/cli/entry.js'
