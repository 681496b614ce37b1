#!/usr/bin/env bash
# npm test: runs every test file with uvu (TypeScript through tsx) and fails when any test did not pass.
# uvu exits 0 when a suite's before() hook throws (its tests count but do not pass), so the totals decide.
set -uo pipefail
cd "$(dirname "$0")/.."
pattern="${1:-.*\.test\.ts$}"
dir="${2:-test}"
log=$(mktemp)
node --import tsx scripts/run-tests.mjs "$dir" "$pattern" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
rm -f "$log"
total=$(printf '%s\n' "$plain" | awk '/^ *Total:/ {print $2}' | tail -1)
passed=$(printf '%s\n' "$plain" | awk '/^ *Passed:/ {print $2}' | tail -1)
skipped=$(printf '%s\n' "$plain" | awk '/^ *Skipped:/ {print $2}' | tail -1)
total=${total:-0}; passed=${passed:-0}; skipped=${skipped:-0}
# uvu's Total leaves out tests registered with .skip (counted under Skipped only): failures are Total − Passed.
failed=$((total - passed))
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
# What failed, again just above the totals: a CI record that keeps only the tail of a long run still names it.
# Each suite short of its tests, one line each (a before() hook that threw prints no FAIL block, only its
# count), then uvu's FAIL blocks with their files; a run that failed with neither (a crash before the totals)
# shows its last lines. HAFNIUM_TEST_FAILURES: a file to append the blocks to, and its .short the one-liners,
# each prefixed with HAFNIUM_TEST_PASS (which pass of CI this is).
short=$(printf '%s\n' "$plain" | awk '
  /^[^ ].*\.test\.ts$/ { file = $0 }
  match($0, /\(([0-9]+) \/ ([0-9]+)\)[ ]*$/) {
    split(substr($0, RSTART + 1, RLENGTH - 2), n, " / ")
    if (n[1] + 0 < n[2] + 0) { line = $0; gsub(/[ ]+/, " ", line); print file ":" line }
  }')
blocks=$(printf '%s\n' "$plain" | awk '
  /^[^ ].*\.test\.ts$/ { file = $0 }
  /^ +FAIL / { print "-- " file; left = 12 }
  left > 0 { print; left-- }')
if [ "$failed" -gt 0 ] && [ -z "$short$blocks" ]; then
  blocks=$(printf '%s\n' "-- no suite named; the run's last lines:"; printf '%s\n' "$plain" | tail -20)
fi
if [ -n "$short$blocks" ]; then
  echo
  echo "== failed:"
  [ -z "$blocks" ] || printf '%s\n' "$blocks"
  [ -z "$short" ] || printf '%s\n' "$short"
  if [ -n "${HAFNIUM_TEST_FAILURES:-}" ]; then
    pass=${HAFNIUM_TEST_PASS:-tests}
    [ -z "$blocks" ] || printf '== %s\n%s\n' "$pass" "$blocks" >>"$HAFNIUM_TEST_FAILURES"
    [ -z "$short" ] || printf '%s\n' "$short" | sed "s|^|$pass: |" >>"$HAFNIUM_TEST_FAILURES.short"
  fi
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$total" -gt 0 ] && [ "$failed" -eq 0 ]
