#!/usr/bin/env bash
# npm run bench: raise the open-file limit for 20,000 sockets, build, then run the scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
want=45000
extra=()
if [ "$(ulimit -n)" -lt "$want" ]; then
  if ! ulimit -n "$want" 2>/dev/null; then
    hard=$(ulimit -Hn)
    ulimit -n "$hard"
    idle=$((hard - 1000))
    echo "bench: the open-file limit cannot be raised to $want (hard limit $hard); measuring $idle idle connections instead of 20,000" >&2
    extra=(--idle "$idle")
  fi
fi
npm run --silent build
# The load generator shares its core with nothing but its own threads: V8's parallel GC helpers there
# stalled its send loop 5-10 ms at a time (every such stall counts in the open-loop p99), so it collects
# on the main thread only.
exec node --single-threaded-gc --import tsx bench/run.ts "${extra[@]}" "$@"
