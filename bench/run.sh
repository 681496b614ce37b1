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
exec node --import tsx bench/run.ts "${extra[@]}" "$@"
